#pragma once

#include "command_line.hpp"

#include <vector>

namespace dynalock::cli {

/// Carries out a parsed command line against DynamoDB and returns the exit
/// status (see exit_status.hpp). Errors are reported as one line on stderr.
/// `inherited`: the descriptors `run` passes on to its command.
int execute(const invocation& inv, const std::vector<int>& inherited);

}  // namespace dynalock::cli
