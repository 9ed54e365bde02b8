#pragma once

#include <cstddef>

namespace dynalock::dynamodb {

// DynamoDB's documented service limits, shared by request validation and
// response decoding.

/// Lists and maps nest at most this many levels deep.
inline constexpr int max_nesting_levels = 32;
inline constexpr std::size_t max_item_bytes = 400 * 1024;
inline constexpr std::size_t max_partition_key_bytes = 2048;
inline constexpr std::size_t max_sort_key_bytes = 1024;
inline constexpr std::size_t max_significant_digits = 38;
/// Non-zero magnitudes lie in [1E-130, 1E+126).
inline constexpr int min_decimal_exponent = -130;
inline constexpr int max_decimal_exponent = 125;

}  // namespace dynalock::dynamodb
