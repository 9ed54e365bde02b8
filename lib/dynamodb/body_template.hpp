#pragma once

// A request body that differs from one send to the next only in a few of its
// strings, encoded once with a marker in each one's place and filled in on
// every send. A heartbeat's UpdateItem differs from the last only in its key,
// versions, owner and times; encoding and checking the rest again was a
// fifth of the instructions a heartbeat executes outside OpenSSL.

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dynalock::dynamodb {

class body_template {
public:
    /// `body` with a hole where each of `markers` was written as a JSON
    /// string; nullopt unless each is there exactly once (a table or an
    /// attribute name could hold one), for the caller to encode in full.
    static std::optional<body_template> split(std::string_view body,
                                              std::span<const std::string_view> markers);

    /// Replaces `body`'s content with the template, `values[i]` written as a
    /// JSON string in the hole of marker i. `values` has one per marker.
    void fill(std::span<const std::string_view> values, std::string& body) const;

    /// How many values `fill` takes.
    std::size_t size() const noexcept { return holes_.size(); }

private:
    struct hole {
        std::size_t at;     // in text_
        std::size_t value;  // the marker's index
    };

    std::string text_;         // the body without its markers
    std::vector<hole> holes_;  // in the order of `at`
};

}  // namespace dynalock::dynamodb
