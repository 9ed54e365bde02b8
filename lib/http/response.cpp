#include <http/response.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace dynalock::http {
namespace {

// A header block is at most the parser's header limit (8 KiB by default), so
// 32 bits hold any size.
using size_field = std::uint32_t;
constexpr std::size_t prefix_bytes = 2 * sizeof(size_field);

size_field read_size(const char* at) noexcept {
    size_field n = 0;
    std::memcpy(&n, at, sizeof n);
    return n;
}

char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

}  // namespace

std::optional<std::string_view> response::field(std::string_view name) const noexcept {
    const char* at = fields_.data();
    const char* const end = at + fields_.size();
    while (at != end) {
        const size_field name_size = read_size(at);
        const size_field value_size = read_size(at + sizeof(size_field));
        const char* field_name = at + prefix_bytes;
        if (iequals(std::string_view(field_name, name_size), name)) {
            return std::string_view(field_name + name_size, value_size);
        }
        at = field_name + name_size + value_size;
    }
    return std::nullopt;
}

std::string_view response::operator[](std::string_view name) const noexcept {
    return field(name).value_or(std::string_view());
}

void response::clear() noexcept {
    status_ = 0;
    fields_.clear();
    body_.clear();
}

void response::add_field(std::string_view name, std::string_view value) {
    // One allocation for the usual header block instead of doubling from 15 bytes.
    constexpr std::size_t usual_fields_bytes = 512;
    if (fields_.capacity() < usual_fields_bytes) {
        fields_.reserve(usual_fields_bytes);
    }
    const std::array<size_field, 2> sizes{static_cast<size_field>(name.size()),
                                          static_cast<size_field>(value.size())};
    fields_.append(reinterpret_cast<const char*>(sizes.data()), prefix_bytes)
        .append(name)
        .append(value);
}

}  // namespace dynalock::http
