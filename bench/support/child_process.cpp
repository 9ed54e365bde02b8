#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace dynalock::bench {

pid_t spawn_child(const child_options& options) {
    // Built before the fork: the child may only make async-signal-safe calls.
    std::vector<char*> argv;
    for (const auto& arg : options.args)
        argv.push_back(const_cast<char*>(arg.c_str()));
    argv.push_back(nullptr);

    sigset_t blocked;
    sigset_t previous;
    sigemptyset(&blocked);
    for (const int sig : options.handled_signals)
        sigaddset(&blocked, sig);
    ::sigprocmask(SIG_BLOCK, &blocked, &previous);

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid == 0) {  // only async-signal-safe calls until exec
        ::setpgid(0, 0);
        ::prctl(PR_SET_PDEATHSIG, options.death_signal);
        if (::getppid() != parent)
            ::_exit(126);
        for (const int sig : options.handled_signals)
            ::signal(sig, SIG_DFL);
        ::sigprocmask(SIG_SETMASK, &previous, nullptr);
        const int null_fd = ::open("/dev/null", O_RDONLY);
        if (null_fd < 0 || ::dup2(null_fd, STDIN_FILENO) < 0 ||
            ::dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
            ::_exit(126);
        if (options.search_path)
            ::execvp(options.program.c_str(), argv.data());
        else
            ::execv(options.program.c_str(), argv.data());
        ::_exit(exec_failed_status);
    }
    const int fork_errno = errno;
    if (pid > 0) {
        ::setpgid(pid, pid);  // also here: kill(-pid) must find the group at once
        if (options.published_pid != nullptr)
            options.published_pid->store(pid);
    }
    ::sigprocmask(SIG_SETMASK, &previous, nullptr);
    if (pid < 0)
        throw std::system_error(fork_errno, std::generic_category(), "fork");
    return pid;
}

}  // namespace dynalock::bench
