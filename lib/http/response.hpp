#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dynalock::http {

class response_parser;

/// An HTTP response as the pool reads it: the status, the header fields and
/// the body. The fields stay in a copy of the header block as received, not
/// one allocation each as Beast's message keeps them: a DynamoDB answer has
/// six or seven, and they were a third of the allocations of a request.
class response {
public:
    /// The status code, such as 200.
    unsigned result_int() const noexcept { return status_; }

    /// The value of the first field named `name` (compared without case), or
    /// an empty view when there is none.
    std::string_view operator[](std::string_view name) const noexcept;
    /// The value of the first field named `name`, or nullopt when none was
    /// received (an empty value is a value).
    std::optional<std::string_view> field(std::string_view name) const noexcept;

    /// The body, decoded from its framing (Content-Length, chunked or EOF).
    std::string& body() noexcept { return body_; }
    /// The body.
    const std::string& body() const noexcept { return body_; }

    /// Empties the response, keeping the capacity of its strings.
    void clear() noexcept;

private:
    friend class response_parser;

    // Copies a header or trailer block in; the returned view of the copy
    // stays valid until the next call.
    std::string_view keep_block(std::string_view block);
    // `name` and `value` view the block `keep_block` returned last.
    void add_field(std::string_view name, std::string_view value);

    struct field_at {
        std::uint32_t name_at, name_size, value_at, value_size;  // in blocks_
    };

    unsigned status_ = 0;
    // The header block (and trailer block) as received, and where in it each
    // field's name and value are: one copy of the bytes for all fields.
    std::string blocks_;
    std::vector<field_at> fields_;
    std::string body_;
};

}  // namespace dynalock::http
