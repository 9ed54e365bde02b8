#pragma once

// The command `dynalock run` guards: started with the lock's details in its
// environment, watched through SIGCHLD, stopped when the lease is lost.

#include <dynalock/lease.hpp>
#include <dynalock/loss_reason.hpp>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/signal_set.hpp>

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dynalock::cli {

using environment_overrides = std::vector<std::pair<std::string, std::string>>;

/// Starts `argv` (searched in PATH) with this process's environment plus
/// `env`, the descriptors `inherited` (those open at startup: see main.cpp)
/// and no others above 2, and default signal dispositions. Returns the pid,
/// or -1 with errno set when it could not be started (ENOENT: no such
/// command).
pid_t spawn_command(const std::vector<std::string>& argv, const environment_overrides& env,
                    const std::vector<int>& inherited);

struct command_outcome {
    int wait_status = 0;
    /// Why the lease ended while the command ran; none when it held throughout.
    loss_reason lost = loss_reason::none;
};

/// Waits until `pid` exits, reaping it. Meanwhile SIGINT and SIGTERM that
/// reach `signals` are forwarded to it; if `held` ends first, `on_lost` is
/// told why, the command gets SIGTERM at once and SIGKILL after `grace`.
/// `signals` must hold SIGCHLD, SIGINT and SIGTERM and have been set up
/// before the command was started (so that no SIGCHLD is missed).
boost::asio::awaitable<command_outcome> supervise(pid_t pid, boost::asio::signal_set& signals,
                                                  lease held, std::chrono::milliseconds grace,
                                                  std::function<void(loss_reason)> on_lost);

}  // namespace dynalock::cli
