#pragma once

#include <string>
#include <string_view>

/// The request every throughput bench repeats, shared so the raw floor and the
/// client make the server do the same work: a conditional UpdateItem that
/// succeeds, on one item per connection (or coroutine), the shape of a heartbeat.
namespace dynalock::bench::workload {

inline constexpr std::string_view key_attribute = "pk";
inline constexpr std::string_view value_attribute = "val";
/// As long as a record version number.
inline constexpr std::string_view value = "5f0c2b9e8d7a41c3b6e2d9f8a7c6b5e4";
inline constexpr std::string_view update_expression = "SET #v = :v";
inline constexpr std::string_view condition_expression = "attribute_exists(#k)";

inline std::string item_key(int index) {
    return "bench-" + std::to_string(index);
}

}  // namespace dynalock::bench::workload
