#include "process/child_process.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <string_view>

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace dynalock::process {
namespace {

error_code system_error(int error) {
    return error_code(error, boost::system::system_category());
}

// The paths exec tries, in order: the program itself, or with search_path in
// each directory of PATH (an empty entry is the current directory, as for a
// shell).
std::vector<std::string> program_paths(const spawn_options& options) {
    const std::string& name = options.program.empty() ? options.argv.front() : options.program;
    if (!options.search_path || name.find('/') != std::string::npos) {
        return {name};
    }
    const char* path = std::getenv("PATH");
    std::string_view directories = path != nullptr && *path != '\0' ? path : "/bin:/usr/bin";
    std::vector<std::string> paths;
    for (;;) {
        const std::size_t end = directories.find(':');
        const std::string_view directory = directories.substr(0, end);
        paths.push_back((directory.empty() ? std::string(".") : std::string(directory)) + "/" +
                        name);
        if (end == std::string_view::npos) {
            return paths;
        }
        directories.remove_prefix(end + 1);
    }
}

bool contains(const std::vector<int>& fds, int fd) {
    return std::find(fds.begin(), fds.end(), fd) != fds.end();
}

// Everything the child needs, made before the fork: between fork and exec the
// child may only make async-signal-safe calls, since another thread may have
// held the allocator's lock when we forked.
struct prepared_child {
    std::vector<char*> argv;
    std::vector<std::string> environment_entries;
    std::vector<char*> environment;
    std::vector<std::string> paths;
    std::array<int, 3> sources{};
    std::vector<int> close_before;  // open here, not to be inherited
    std::vector<int> close_after;   // redirection sources not to be inherited
    pid_t parent = 0;
};

prepared_child prepare(const spawn_options& options, int error_pipe_read, int error_pipe_write) {
    prepared_child child;
    for (const std::string& arg : options.argv) {
        child.argv.push_back(const_cast<char*>(arg.c_str()));  // exec does not write to them
    }
    child.argv.push_back(nullptr);
    for (char** entry = environ; *entry != nullptr; ++entry) {
        const std::string_view text(*entry);
        const bool replaced = std::any_of(
            options.environment.begin(), options.environment.end(), [&](const auto& variable) {
                return text.size() > variable.first.size() && text.starts_with(variable.first) &&
                       text[variable.first.size()] == '=';
            });
        if (!replaced) {
            child.environment_entries.emplace_back(text);
        }
    }
    for (const auto& [name, value] : options.environment) {
        child.environment_entries.push_back(name + "=" + value);
    }
    for (std::string& entry : child.environment_entries) {
        child.environment.push_back(entry.data());
    }
    child.environment.push_back(nullptr);
    child.paths = program_paths(options);
    child.sources = {options.standard_input, options.standard_output, options.standard_error};
    if (options.inherited_descriptors) {
        const std::vector<int>& kept = *options.inherited_descriptors;
        for (int fd : open_descriptors()) {
            const bool needed =
                fd <= 2 || contains(kept, fd) || fd == error_pipe_read || fd == error_pipe_write ||
                std::find(child.sources.begin(), child.sources.end(), fd) != child.sources.end();
            if (!needed) {
                child.close_before.push_back(fd);
            }
        }
        for (int fd : child.sources) {
            if (fd > 2 && !contains(kept, fd)) {
                child.close_after.push_back(fd);
            }
        }
    }
    child.parent = ::getpid();
    return child;
}

[[noreturn]] void report_and_exit(int error_pipe, int error) {
    while (::write(error_pipe, &error, sizeof error) < 0 && errno == EINTR) {
    }
    ::_exit(127);
}

// Runs in the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void become_child(const spawn_options& options, const prepared_child& child,
                               int error_pipe) {
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction current {};
        if (sig == SIGKILL || sig == SIGSTOP || ::sigaction(sig, nullptr, &current) != 0) {
            continue;
        }
        const bool caught = (current.sa_flags & SA_SIGINFO) != 0 ||
                            (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN);
        if (caught) {
            ::sigaction(sig, &default_action, nullptr);
        }
    }
    for (int sig : options.default_signals) {
        ::sigaction(sig, &default_action, nullptr);
    }
    if (options.own_process_group && ::setpgid(0, 0) != 0) {
        report_and_exit(error_pipe, errno);
    }
    if (options.death_signal != 0) {
        ::prctl(PR_SET_PDEATHSIG, options.death_signal);
        if (::getppid() != child.parent) {
            ::_exit(127);  // the parent is gone already: nobody to report to
        }
    }
    for (int fd : child.close_before) {
        ::close(fd);
    }
    // Copies above 2 first, so that placing one stream cannot overwrite the
    // source of another; close-on-exec, so the copies end at exec.
    std::array<int, 3> copies{-1, -1, -1};
    for (int stream = 0; stream < 3; ++stream) {
        const int source = child.sources[stream];
        if (source == null_device) {
            copies[stream] = ::open("/dev/null", (stream == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
        } else if (source >= 0) {
            copies[stream] = ::fcntl(source, F_DUPFD_CLOEXEC, 3);
        } else {
            continue;
        }
        if (copies[stream] < 0) {
            report_and_exit(error_pipe, errno);
        }
    }
    for (int stream = 0; stream < 3; ++stream) {
        if (copies[stream] >= 0 && ::dup2(copies[stream], stream) < 0) {
            report_and_exit(error_pipe, errno);
        }
    }
    for (int fd : child.close_after) {
        ::close(fd);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    // As execvp: a path that cannot be executed for want of permission is
    // remembered, the search goes on, and EACCES is reported if nothing ran.
    int error = ENOENT;
    bool denied = false;
    for (const std::string& path : child.paths) {
        ::execve(path.c_str(), child.argv.data(), child.environment.data());
        error = errno;
        if (error == EACCES) {
            denied = true;
        } else if (error != ENOENT && error != ENOTDIR) {
            break;
        }
    }
    report_and_exit(error_pipe, denied && (error == ENOENT || error == ENOTDIR) ? EACCES : error);
}

}  // namespace

pid_t spawn(const spawn_options& options, error_code& ec) {
    if (options.argv.empty()) {
        ec = make_error_code(boost::system::errc::invalid_argument);
        return -1;
    }
    // The child reports what failed before the program ran through this
    // pipe; exec closes it, so reading end-of-file means the program runs.
    std::array<int, 2> error_pipe{};
    if (::pipe2(error_pipe.data(), O_CLOEXEC) != 0) {
        ec = system_error(errno);
        return -1;
    }
    // Above 2, where no redirection in the child can overwrite it (0-2 may
    // be free when this process runs with a standard stream closed).
    for (int& end : error_pipe) {
        if (end <= 2) {
            const int moved = ::fcntl(end, F_DUPFD_CLOEXEC, 3);
            if (moved < 0) {
                ec = system_error(errno);
            }
            ::close(end);
            end = moved;
        }
    }
    if (error_pipe[0] < 0 || error_pipe[1] < 0) {
        for (int end : error_pipe) {
            if (end >= 0) {
                ::close(end);
            }
        }
        return -1;
    }
    const prepared_child child = prepare(options, error_pipe[0], error_pipe[1]);

    sigset_t all;
    sigset_t previous;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &previous);
    const pid_t pid = ::fork();
    if (pid == 0) {
        ::close(error_pipe[0]);
        become_child(options, child, error_pipe[1]);
    }
    const int fork_error = errno;
    ::close(error_pipe[1]);
    int child_error = 0;
    ssize_t got = 0;
    if (pid > 0) {
        if (options.own_process_group) {
            ::setpgid(pid, pid);  // here too: kill(-pid) must find the group at once
        }
        do {
            got = ::read(error_pipe[0], &child_error, sizeof child_error);
        } while (got < 0 && errno == EINTR);
    }
    ::close(error_pipe[0]);
    if (pid > 0 && got == static_cast<ssize_t>(sizeof child_error)) {
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    } else if (pid > 0 && options.published_pid != nullptr) {
        options.published_pid->store(pid);
    }
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    if (pid < 0) {
        ec = system_error(fork_error);
        return -1;
    }
    if (got == static_cast<ssize_t>(sizeof child_error)) {
        ec = system_error(child_error);
        return -1;
    }
    ec = {};
    return pid;
}

std::vector<int> open_descriptors() {
    std::vector<int> fds;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        return fds;
    }
    const int own = ::dirfd(dir);
    while (const dirent* entry = ::readdir(dir)) {
        const int fd = std::atoi(entry->d_name);
        if (entry->d_name[0] != '.' && fd != own) {
            fds.push_back(fd);
        }
    }
    ::closedir(dir);
    return fds;
}

void stop_process_group(pid_t leader, std::chrono::milliseconds grace) noexcept {
    if (grace.count() > 0) {
        ::kill(-leader, SIGTERM);
        constexpr std::chrono::milliseconds tick{10};
        const timespec pause{0, std::chrono::nanoseconds(tick).count()};
        for (std::chrono::milliseconds waited{0}; waited < grace; waited += tick) {
            if (::waitpid(leader, nullptr, WNOHANG) == leader) {
                return;
            }
            ::nanosleep(&pause, nullptr);
        }
    }
    ::kill(-leader, SIGKILL);
    while (::waitpid(leader, nullptr, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace dynalock::process
