#pragma once

#include <charconv>
#include <cstdio>
#include <functional>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>

namespace dynalock::harness {

/// Walks a command line of `--flag value` and `--flag=value` arguments, calling
/// `on_flag` for each in order (so errors come in the order of the arguments).
/// A flag named in `valueless` stands alone and reaches `on_flag` with an empty
/// value. Throws std::invalid_argument for a flag missing its value, or a
/// valueless one given a value with `=`.
void for_each_flag(
    int argc, char** argv, std::initializer_list<std::string_view> valueless,
    const std::function<void(std::string_view flag, std::string_view value)>& on_flag);

/// `text` as a number from `low` to `high` (never NaN or infinite). Throws
/// std::invalid_argument naming `flag`, the range and `text` otherwise.
template <class Number>
Number parse_number(std::string_view flag, std::string_view text, Number low, Number high) {
    Number value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    // Written so that a NaN fails it.
    if (ec != std::errc{} || end != text.data() + text.size() || !(value >= low && value <= high)) {
        const auto show = [](Number n) {
            if constexpr (std::is_floating_point_v<Number>) {
                char buffer[32];
                std::snprintf(buffer, sizeof buffer, "%g", static_cast<double>(n));
                return std::string(buffer);
            } else {
                return std::to_string(n);
            }
        };
        throw std::invalid_argument(std::string(flag) + ": expected a number from " + show(low) +
                                    " to " + show(high) + ", got '" + std::string(text) + "'");
    }
    return value;
}

}  // namespace dynalock::harness
