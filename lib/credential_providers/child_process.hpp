#pragma once

#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <string>

namespace dynalock::aws {

struct child_process_result {
    int exit_status = -1;  ///< the exit code, or -1 when killed by a signal
    std::string standard_output;
    std::string standard_error;
};

/// Runs `command` through `/bin/sh -c`, as the AWS CLI does for
/// `credential_process`, with the process's environment, and collects its
/// output (standard output capped at `max_output_bytes`, beyond which it is
/// errc::response_too_large; of standard error, the first `max_output_bytes`). The child runs in
/// its own process group: when `deadline` passes, the whole group is killed and the result is
/// errc::timeout, so a command that forks a lingering child cannot stall us.
///
/// Per-operation cancellation: terminal; the group is killed and reaped.
boost::asio::awaitable<error_code> run_child_process(boost::asio::any_io_executor executor,
                                                     const std::string& command,
                                                     std::chrono::steady_clock::time_point deadline,
                                                     std::size_t max_output_bytes,
                                                     child_process_result& out, diagnostics& diag);

}  // namespace dynalock::aws
