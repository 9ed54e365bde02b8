#pragma once

#include "options.hpp"

namespace dynalock::torture {

/// One worker process: a lock client whose seats take the keys again and
/// again, each holding its key for a random time while writing the fenced
/// protected item, and logging the life of every acquisition to
/// `o.log_path`. With `o.mode` per_lock each lock has a lease of its own;
/// with session every lock is held under a session of the worker (see
/// worker.cpp). Stops on SIGTERM or SIGINT: releases what it holds, appends
/// its counters and returns 0 (1 after an unexpected failure, said on stderr).
int run_worker(const options& o);

}  // namespace dynalock::torture
