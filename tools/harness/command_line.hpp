#pragma once

#include <functional>
#include <initializer_list>
#include <string_view>

namespace dynalock::harness {

/// Walks a command line of `--flag value` and `--flag=value` arguments, calling
/// `on_flag` for each in order (so errors come in the order of the arguments).
/// A flag named in `valueless` stands alone and reaches `on_flag` with an empty
/// value. Throws std::invalid_argument for a flag missing its value, or a
/// valueless one given a value with `=`.
void for_each_flag(
    int argc, char** argv, std::initializer_list<std::string_view> valueless,
    const std::function<void(std::string_view flag, std::string_view value)>& on_flag);

}  // namespace dynalock::harness
