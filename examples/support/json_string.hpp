#pragma once

// JSON string quoting for the examples' event lines, which scripts and tests
// parse: a worker or shard name with a quote, a backslash or a newline must
// not break its line.

#include <string>
#include <string_view>

namespace examples {

/// `s` as a JSON string, quotes included: `"` and `\` escaped, control
/// characters as \u00XX, every other byte (UTF-8 included) as it is.
std::string json_string(std::string_view s);

}  // namespace examples
