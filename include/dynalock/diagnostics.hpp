#pragma once

/// \file
/// What the server said about a failed operation.

#include <dynalock/attribute_value.hpp>

#include <optional>
#include <string>

namespace dynalock {

/// What the server (or the transport) said about a failed operation, beside the
/// error_code. `message` and `aws_type` are the server's own text: they may be
/// attacker-controlled, so log them as data and never build `what()` from them
/// unchecked.
struct diagnostics {
    std::string aws_type{};    ///< e.g. "ConditionalCheckFailedException" (prefix removed)
    std::string message{};     ///< the server's `message`/`Message`, or a client-side explanation
    unsigned http_status = 0;  ///< 0 when no response was received
    std::string request_id{};  ///< `x-amzn-RequestId`
    /// For a failed condition: the item as it is (ReturnValuesOnConditionCheckFailure=ALL_OLD).
    std::optional<dynalock::item> item{};

    /// Back to empty, keeping the room of the strings; every operation that
    /// fills diagnostics clears them first.
    void clear() noexcept {
        aws_type.clear();
        message.clear();
        http_status = 0;
        request_id.clear();
        item.reset();
    }
};

}  // namespace dynalock
