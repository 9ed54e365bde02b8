#pragma once

#include "options.hpp"

namespace dynalock::torture {

/// One worker process: a lock client with one seat per key, each seat taking
/// its key again and again, holding it for a random time while writing the
/// fenced protected item, and logging every acquisition to `o.log_path`.
/// Stops on SIGTERM or SIGINT: releases what it holds, appends its counters
/// and returns 0 (1 after an unexpected failure, said on stderr).
int run_worker(const options& o);

}  // namespace dynalock::torture
