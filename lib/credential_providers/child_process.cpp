#include "credential_providers/child_process.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <memory>

extern char** environ;  // NOLINT: POSIX declares it nowhere else

namespace dynalock::aws {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

namespace {

// Closes the descriptors it owns unless they were handed over.
struct pipe_ends {
    int read_end = -1;
    int write_end = -1;
    pipe_ends() = default;
    pipe_ends(const pipe_ends&) = delete;
    pipe_ends& operator=(const pipe_ends&) = delete;
    ~pipe_ends() {
        close_write_end();
        if (read_end >= 0) {
            ::close(read_end);
        }
    }
    bool open() {
        std::array<int, 2> fds{};
        if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
            return false;
        }
        read_end = fds[0];
        write_end = fds[1];
        return true;
    }
    void close_write_end() {
        if (write_end >= 0) {
            ::close(write_end);
            write_end = -1;
        }
    }
    int release_read_end() { return std::exchange(read_end, -1); }
};

error_code system_failure(const char* what, int error, diagnostics& diag) {
    diag.message = std::string("credential_process: ") + what + ": " + std::strerror(error);
    return errc::credentials_unavailable;
}

asio::awaitable<error_code> read_all(asio::posix::stream_descriptor& stream, std::string& out,
                                     std::size_t limit) {
    std::array<char, 4096> buffer;
    for (;;) {
        auto read =
            stream.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
        auto [ec, n] = co_await std::move(read);
        if (ec == asio::error::eof) {
            co_return error_code{};
        }
        if (ec) {
            co_return ec;
        }
        if (out.size() + n > limit) {
            co_return errc::response_too_large;
        }
        out.append(buffer.data(), n);
    }
}

// The first `limit` bytes the child wrote to `file`.
std::string read_start(int file, std::size_t limit) {
    std::string text(limit, '\0');
    ssize_t n = ::pread(file, text.data(), limit, 0);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return text;
}

int exit_status_of(int wait_status) {
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

// After SIGKILL the child ends at once, so this blocking wait is short.
void kill_and_reap(pid_t pid) {
    ::kill(-pid, SIGKILL);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
}

pid_t spawn_shell(const std::string& command, int stdout_fd, int stderr_fd, int& error) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, stdout_fd, 1);
    posix_spawn_file_actions_adddup2(&actions, stderr_fd, 2);
    // Its own process group, so that a timeout kills whatever the shell started.
    posix_spawnattr_setpgroup(&attributes, 0);
    sigset_t no_signals;
    sigemptyset(&no_signals);
    posix_spawnattr_setsigmask(&attributes, &no_signals);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK);
    std::string shell = "/bin/sh";
    std::string flag = "-c";
    std::string script = command;
    std::array<char*, 4> argv{shell.data(), flag.data(), script.data(), nullptr};
    pid_t pid = -1;
    error = ::posix_spawn(&pid, shell.c_str(), &actions, &attributes, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    return error == 0 ? pid : -1;
}

}  // namespace

asio::awaitable<error_code> run_child_process(asio::any_io_executor executor,
                                              const std::string& command,
                                              std::chrono::steady_clock::time_point deadline,
                                              std::size_t max_output_bytes,
                                              child_process_result& out, diagnostics& diag) {
    pipe_ends stdout_pipe;
    if (!stdout_pipe.open()) {
        co_return system_failure("cannot create a pipe", errno, diag);
    }
    // Standard error goes to an anonymous file, so that it needs no reader
    // while we read the output, and is read only to explain a failure.
    int stderr_file = ::memfd_create("credential_process-stderr", MFD_CLOEXEC);
    if (stderr_file < 0) {
        co_return system_failure("cannot create a file for standard error", errno, diag);
    }
    std::unique_ptr<int, void (*)(int*)> stderr_closer(&stderr_file, [](int* fd) { ::close(*fd); });
    int spawn_error = 0;
    pid_t pid = spawn_shell(command, stdout_pipe.write_end, stderr_file, spawn_error);
    if (pid < 0) {
        co_return system_failure("cannot start /bin/sh", spawn_error, diag);
    }
    // Only the child may hold the write end, or we would never see EOF.
    stdout_pipe.close_write_end();
    asio::posix::stream_descriptor stdout_stream(executor, stdout_pipe.release_read_end());
    asio::steady_timer timer(executor, deadline);

    child_process_result result;
    // `||` completes with the first operation to *succeed*; read_all reports
    // its failures as a value, so that they end the wait at once.
    auto bounded = read_all(stdout_stream, result.standard_output, max_output_bytes) ||
                   timer.async_wait(asio::use_awaitable);
    auto outcome = co_await std::move(bounded);
    error_code read_error = outcome.index() == 0 ? std::get<0>(outcome) : errc::timeout;
    if (read_error) {
        kill_and_reap(pid);
        diag.message = read_error == errc::timeout
                           ? "credential_process: the command did not finish in time"
                           : "credential_process: reading the command's output failed: " +
                                 read_error.message();
        co_return read_error;
    }

    // Both streams are closed; the shell is exiting. Poll rather than block,
    // since a process may close its output and go on running.
    for (;;) {
        int status = 0;
        pid_t reaped = ::waitpid(pid, &status, WNOHANG);
        if (reaped == pid) {
            result.exit_status = exit_status_of(status);
            result.standard_error = read_start(stderr_file, max_output_bytes);
            break;
        }
        if (reaped < 0 && errno != EINTR) {
            co_return system_failure("waitpid", errno, diag);
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            kill_and_reap(pid);
            diag.message = "credential_process: the command did not exit in time";
            co_return errc::timeout;
        }
        timer.expires_after(std::chrono::milliseconds(5));
        auto pause = timer.async_wait(asio::as_tuple(asio::use_awaitable));
        auto [ec] = co_await std::move(pause);
        if (ec) {
            kill_and_reap(pid);
            co_return ec;
        }
    }
    out = std::move(result);
    co_return error_code{};
}

}  // namespace dynalock::aws
