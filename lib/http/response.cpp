#include <http/response.hpp>

#include "field_text.hpp"

namespace dynalock::http {

std::optional<std::string_view> response::field(std::string_view name) const noexcept {
    for (const field_at& f : fields_) {
        if (field_text::iequals(std::string_view(blocks_.data() + f.name_at, f.name_size), name)) {
            return std::string_view(blocks_.data() + f.value_at, f.value_size);
        }
    }
    return std::nullopt;
}

std::string_view response::operator[](std::string_view name) const noexcept {
    return field(name).value_or(std::string_view());
}

void response::clear() noexcept {
    status_ = 0;
    blocks_.clear();
    fields_.clear();
    body_.clear();
}

std::string_view response::keep_block(std::string_view block) {
    // One allocation each for the usual header block and its fields, kept
    // while the response is reused, instead of doubling from nothing.
    constexpr std::size_t usual_block_bytes = 512;
    constexpr std::size_t usual_fields = 12;
    if (blocks_.capacity() < usual_block_bytes) {
        blocks_.reserve(usual_block_bytes);
        fields_.reserve(usual_fields);
    }
    const std::size_t at = blocks_.size();
    blocks_.append(block);
    return std::string_view(blocks_).substr(at);
}

void response::add_field(std::string_view name, std::string_view value) {
    // Blocks are at most the parser's header limit, so 32 bits hold any offset.
    const auto offset = [this](std::string_view s) {
        return static_cast<std::uint32_t>(s.data() - blocks_.data());
    };
    fields_.push_back(field_at{offset(name), static_cast<std::uint32_t>(name.size()), offset(value),
                               static_cast<std::uint32_t>(value.size())});
}

}  // namespace dynalock::http
