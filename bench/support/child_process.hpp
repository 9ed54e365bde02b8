#pragma once

#include <sys/types.h>

#include <atomic>
#include <csignal>
#include <span>
#include <string>
#include <vector>

namespace dynalock::bench {

/// The exit status of a child that spawn_child could not exec (as a shell's
/// "command not found").
inline constexpr int exec_failed_status = 127;

/// What spawn_child starts, and how.
struct child_options {
    /// A path to execute, or with `search_path` a name looked up in PATH.
    std::string program{};
    bool search_path = false;
    /// The child's whole argv, argv[0] included.
    std::vector<std::string> args{};
    /// What the kernel sends the child should this process die without
    /// stopping it (a crash, a SIGKILL), where no handler of ours runs.
    int death_signal = SIGTERM;
    /// The signals this process handles: blocked across the fork so no handler
    /// of ours runs in the child, and set back to their default there.
    std::span<const int> handled_signals{};
    /// When set, receives the child's pid before those signals are unblocked,
    /// so a handler that reads it never misses the child.
    std::atomic<pid_t>* published_pid = nullptr;
};

/// Starts a child in its own process group (so a Ctrl-C on the terminal reaches
/// only us, and we decide how it stops), with /dev/null as its stdin and our
/// stderr as its stdout (keeping our stdout for results). Returns its pid;
/// throws std::system_error if fork fails. A child that cannot exec exits with
/// `exec_failed_status`, one that cannot set itself up first with 126.
pid_t spawn_child(const child_options& options);

}  // namespace dynalock::bench
