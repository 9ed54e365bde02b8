#pragma once

#include "options.hpp"

namespace dynalock::torture {

/// The whole run: the server (given or started), the tables, the worker
/// processes with their random pauses, then the checker and its JSON line on
/// stdout. Returns the exit status: 0 only when the checker passed and every
/// worker stopped cleanly. No worker outlives it, however it ends.
int run_supervisor(const options& o, const char* program);

}  // namespace dynalock::torture
