#pragma once

// Starting and stopping child processes, one way for the whole project: the
// library's `credential_process`, the CLI's `dynalock run`, and the servers
// and workers of the benches and the torture test. Linux (the death signal,
// /proc/self/fd).
//
// Not public API. Programs of this project that otherwise use only the public
// API (the CLI) reach this header alone through `dynalock_process_dep`.

#include <dynalock/error.hpp>

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace dynalock::process {

/// A standard stream of the child that is this process's own.
inline constexpr int inherit = -1;
/// A standard stream of the child that is /dev/null.
inline constexpr int null_device = -2;

struct spawn_options {
    /// The child's whole argv, argv[0] included.
    std::vector<std::string> argv{};
    /// The program to run: a path, or with `search_path` a name looked up in
    /// PATH as a shell does. Empty: argv[0].
    std::string program{};
    bool search_path = false;
    /// Variables set in the child on top of this process's environment,
    /// replacing those of the same name.
    std::vector<std::pair<std::string, std::string>> environment{};
    /// The child's standard input, output and error: `inherit`,
    /// `null_device`, or a descriptor of this process (which may be one of
    /// 0-2: each is read before any is replaced).
    int standard_input = inherit;
    int standard_output = inherit;
    int standard_error = inherit;
    /// When set, the child keeps these descriptors (and 0-2) and every other
    /// one open here is closed in it. Unset: the child inherits every
    /// descriptor without close-on-exec, as exec does.
    std::optional<std::vector<int>> inherited_descriptors{};
    /// The child leads a new process group: `stop_process_group` then reaches
    /// whatever it starts, and a Ctrl-C on the terminal reaches only us.
    bool own_process_group = false;
    /// Sent to the child by the kernel when the thread that started it ends
    /// (PR_SET_PDEATHSIG), so that a crashed or killed parent leaves no
    /// server behind. 0: none. Start such a child from the main thread.
    int death_signal = 0;
    /// Signals this process ignores that the child must not: set back to
    /// their default in it (caught ones always are, as exec does).
    std::span<const int> default_signals{};
    /// Receives the pid while this process's signals are still blocked, so
    /// that a signal handler that stops the child always knows it.
    std::atomic<pid_t>* published_pid = nullptr;
};

/// Starts a child and returns its pid once it has executed the program. The
/// child starts with no signal blocked. Until then this thread's signals are
/// blocked, so no handler of ours runs in the child.
///
/// Returns -1 with `ec` set (system category) when the child could not be
/// started: the errno of fork or pipe, or of what failed in the child before
/// the program ran (a redirection, or exec: ENOENT for a program that does not
/// exist, EACCES for one that may not be executed); such a child is reaped.
pid_t spawn(const spawn_options& options, error_code& ec);

/// The descriptors open in this process now.
std::vector<int> open_descriptors();

/// Stops the process group led by `leader` and reaps the leader: SIGTERM,
/// then SIGKILL once `grace` has passed (at once when it is zero). Makes only
/// async-signal-safe calls, so a signal handler may use it.
void stop_process_group(pid_t leader, std::chrono::milliseconds grace) noexcept;

}  // namespace dynalock::process
