#pragma once

// What dynalock's exit status means (sysexits.h numbering where one fits), and
// how outcomes map to it: pure functions, unit-tested.

#include <dynalock/error.hpp>

namespace dynalock::cli {

enum exit_status : int {
    exit_ok = 0,
    /// `show` or `release` found no such lock.
    exit_no_such_lock = 1,
    exit_usage = 64,                    ///< EX_USAGE: the command line or the configuration
    exit_bad_row = 65,                  ///< EX_DATAERR: a row of the table is no usable lock
    exit_unavailable = 69,              ///< EX_UNAVAILABLE: DynamoDB unreachable, or it refused
    exit_software = 70,                 ///< EX_SOFTWARE: a bug (an unexpected exception)
    exit_not_granted = 75,              ///< EX_TEMPFAIL: the lock was not granted within the wait
    exit_lease_lost = 76,               ///< the lease ended while the command ran
    exit_command_not_executable = 126,  ///< as shells report it
    exit_command_not_found = 127,
};

/// The status for a failed DynamoDB or lock operation: configuration errors
/// are usage errors, a malformed row or an exhausted fence is bad data, lock
/// outcomes have their own, anything else (network, credentials, permissions,
/// a missing table, a refused request) is 69.
int exit_status_for(error_code ec) noexcept;

/// The status of `dynalock run` once its command ended with `wait_status`
/// (from waitpid): the command's own status (128 + N when it died of signal
/// N) when the lease held until it ended, else 76.
int exit_status_for_command(int wait_status, bool lease_held_throughout) noexcept;

}  // namespace dynalock::cli
