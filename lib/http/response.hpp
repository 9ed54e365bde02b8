#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dynalock::http {

class response_parser;

/// An HTTP response as the pool reads it: the status, the header fields and
/// the body. Fields are kept packed in one string, not one allocation each as
/// Beast's message keeps them: a DynamoDB answer has six or seven, and they
/// were a third of the allocations of a request.
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

    void add_field(std::string_view name, std::string_view value);

    unsigned status_ = 0;
    // Each field as its name's size and value's size (fixed-width, so any
    // byte may appear in either), then the name and the value.
    std::string fields_;
    std::string body_;
};

}  // namespace dynalock::http
