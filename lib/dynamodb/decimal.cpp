#include "dynamodb/decimal.hpp"

namespace dynalock::dynamodb {
namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Exponents beyond this are out of DynamoDB's range whatever the digits, so
// clamping keeps the arithmetic overflow-free without changing any verdict.
constexpr std::int64_t exponent_clamp = 1'000'000'000;

}  // namespace

std::optional<decimal> parse_decimal(std::string_view text) {
    decimal result;
    std::size_t i = 0;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
        result.negative = text[i] == '-';
        ++i;
    }
    // Collect the mantissa's digits, remembering where the point was.
    std::string mantissa;
    std::int64_t integer_digits = 0;
    bool seen_point = false;
    for (; i < text.size(); ++i) {
        if (is_digit(text[i])) {
            mantissa += text[i];
            integer_digits += seen_point ? 0 : 1;
        } else if (text[i] == '.' && !seen_point) {
            seen_point = true;
        } else {
            break;
        }
    }
    if (mantissa.empty()) {
        return std::nullopt;
    }
    std::int64_t exponent = 0;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        bool negative_exponent = false;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
            negative_exponent = text[i] == '-';
            ++i;
        }
        const std::size_t exponent_start = i;
        for (; i < text.size() && is_digit(text[i]); ++i) {
            if (exponent < exponent_clamp) {
                exponent = exponent * 10 + (text[i] - '0');
            }
        }
        if (i == exponent_start) {
            return std::nullopt;
        }
        exponent = negative_exponent ? -exponent : exponent;
    }
    if (i != text.size()) {
        return std::nullopt;
    }
    const auto first = mantissa.find_first_not_of('0');
    if (first == std::string::npos) {
        result.negative = false;  // -0 is 0
        return result;
    }
    const auto last = mantissa.find_last_not_of('0');
    result.digits = mantissa.substr(first, last - first + 1);
    result.exponent = integer_digits - static_cast<std::int64_t>(first) + exponent;
    return result;
}

}  // namespace dynalock::dynamodb
