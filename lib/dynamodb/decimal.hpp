#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dynalock::dynamodb {

/// A DynamoDB number's decimal text taken apart: value = ±0.digits × 10^exponent.
/// Two texts denote the same number exactly when their decimals are equal, which
/// is how DynamoDB tells duplicate members of a number set.
struct decimal {
    bool negative = false;
    std::string digits;         ///< significant digits, no leading or trailing zero; empty for 0
    std::int64_t exponent = 0;  ///< 0 for zero
    friend bool operator==(const decimal&, const decimal&) = default;
};

/// Parses `[+-]digits[.digits][(e|E)[+-]digits]` (a digit on at least one side
/// of the point); nullopt for anything else, including empty text.
std::optional<decimal> parse_decimal(std::string_view text);

}  // namespace dynalock::dynamodb
