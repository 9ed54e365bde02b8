#include "credential_providers/credential_process.hpp"

#include "aws/credentials_json.hpp"
#include "process/child_process.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

namespace dynalock::aws {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

// The JSON document is a few hundred bytes; anything much larger is not one.
constexpr std::size_t max_output_bytes = 64 * 1024;
// Enough of standard error to explain a failure without flooding a log.
constexpr std::size_t stderr_excerpt_bytes = 512;

// A descriptor closed when it goes out of scope unless released.
class owned_fd {
public:
    explicit owned_fd(int fd = -1) noexcept : fd_(fd) {}
    owned_fd(const owned_fd&) = delete;
    owned_fd& operator=(const owned_fd&) = delete;
    ~owned_fd() { reset(); }
    int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset() noexcept {
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
    }

private:
    int fd_;
};

struct command_result {
    int exit_status = -1;  ///< the exit code, or -1 when killed by a signal
    std::string standard_output;
    std::string standard_error;
};

error_code system_failure(std::string_view what, int error, diagnostics& diag) {
    diag.message = "credential_process: " + std::string(what) + ": " + std::strerror(error);
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

// The first `limit` bytes the command wrote to `file`.
std::string read_start(int file, std::size_t limit) {
    std::string text(limit, '\0');
    ssize_t n = ::pread(file, text.data(), limit, 0);
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    return text;
}

// Runs `command` through `/bin/sh -c`, as the AWS CLI does, with this
// process's environment, and collects its output (standard output up to
// max_output_bytes, beyond which it is errc::response_too_large; the start of
// standard error). The command leads its own process group: when `deadline`
// passes, the whole group is killed (errc::timeout), so that a command that
// leaves a child behind cannot stall us.
asio::awaitable<error_code> run_command(asio::any_io_executor executor, const std::string& command,
                                        std::chrono::steady_clock::time_point deadline,
                                        command_result& out, diagnostics& diag) {
    std::array<int, 2> fds{};
    if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        co_return system_failure("cannot create a pipe", errno, diag);
    }
    owned_fd stdout_read(fds[0]);
    owned_fd stdout_write(fds[1]);
    // Standard error goes to an anonymous file, so that it needs no reader
    // while we read the output, and is read only to explain a failure.
    owned_fd stderr_file(::memfd_create("credential_process-stderr", MFD_CLOEXEC));
    if (stderr_file.get() < 0) {
        co_return system_failure("cannot create a file for standard error", errno, diag);
    }
    error_code spawn_error;
    const pid_t pid = process::spawn({.argv = {"/bin/sh", "-c", command},
                                      .standard_input = process::null_device,
                                      .standard_output = stdout_write.get(),
                                      .standard_error = stderr_file.get(),
                                      .own_process_group = true},
                                     spawn_error);
    if (pid < 0) {
        co_return system_failure("cannot start /bin/sh", spawn_error.value(), diag);
    }
    // Only the command may hold the write end, or we would never see EOF.
    stdout_write.reset();
    asio::posix::stream_descriptor stdout_stream(executor, stdout_read.release());
    asio::steady_timer timer(executor, deadline);

    command_result result;
    // `||` completes with the first operation to *succeed*; read_all reports
    // its failures as a value, so that they end the wait at once.
    auto bounded = read_all(stdout_stream, result.standard_output, max_output_bytes) ||
                   timer.async_wait(asio::use_awaitable);
    auto outcome = co_await std::move(bounded);
    error_code read_error = outcome.index() == 0 ? std::get<0>(outcome) : errc::timeout;
    if (read_error) {
        process::stop_process_group(pid, std::chrono::milliseconds(0));
        diag.message = read_error == errc::timeout
                           ? "credential_process: the command did not finish in time"
                           : "credential_process: reading the command's output failed: " +
                                 read_error.message();
        co_return read_error;
    }

    // Its output is closed; the shell is exiting. Poll rather than block,
    // since a process may close its output and go on running.
    for (;;) {
        int status = 0;
        pid_t reaped = ::waitpid(pid, &status, WNOHANG);
        if (reaped == pid) {
            result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
            result.standard_error = read_start(stderr_file.get(), max_output_bytes);
            break;
        }
        if (reaped < 0 && errno != EINTR) {
            co_return system_failure("waitpid", errno, diag);
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            process::stop_process_group(pid, std::chrono::milliseconds(0));
            diag.message = "credential_process: the command did not exit in time";
            co_return errc::timeout;
        }
        timer.expires_after(std::chrono::milliseconds(5));
        auto pause = timer.async_wait(asio::as_tuple(asio::use_awaitable));
        auto [ec] = co_await std::move(pause);
        if (ec) {
            process::stop_process_group(pid, std::chrono::milliseconds(0));
            co_return ec;
        }
    }
    out = std::move(result);
    co_return error_code{};
}

std::string excerpt(const std::string& text) {
    std::string_view trimmed(text);
    while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) {
        trimmed.remove_suffix(1);
    }
    if (trimmed.size() <= stderr_excerpt_bytes) {
        return std::string(trimmed);
    }
    return std::string(trimmed.substr(0, stderr_excerpt_bytes)) + "...";
}

}  // namespace

boost::asio::awaitable<error_code> credential_process_provider::fetch(
    credentials& out, diagnostics& diag, std::chrono::steady_clock::time_point deadline) {
    command_result result;
    auto run = run_command(executor_, command_, deadline, result, diag);
    if (error_code ec = co_await std::move(run)) {
        co_return ec;
    }
    if (result.exit_status != 0) {
        diag.message = "credential_process: the command exited with status " +
                       std::to_string(result.exit_status);
        if (!result.standard_error.empty()) {
            diag.message += ": " + excerpt(result.standard_error);
        }
        co_return errc::credentials_unavailable;
    }
    co_return parse_credentials_json(result.standard_output,
                                     credentials_json_dialect::credential_process,
                                     "credential_process output", now_(), out, diag);
}

}  // namespace dynalock::aws
