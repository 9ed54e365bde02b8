#include "server.hpp"

#include "aws/endpoint.hpp"
#include "process/child_process.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/system/system_error.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <vector>

#ifndef DYNALOCK_SOURCE_ROOT
#error "DYNALOCK_SOURCE_ROOT must name the source tree (set by tools/harness/meson.build)"
#endif

namespace dynalock::harness {
namespace {

constexpr int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP};

/// The dynalite to stop when a signal ends the bench; 0 when none runs. Read by
/// the signal handler, hence a lock-free atomic.
std::atomic<pid_t> running_child{0};
static_assert(std::atomic<pid_t>::is_always_lock_free);

/// How long dynalite gets to stop after SIGTERM before SIGKILL.
constexpr std::chrono::seconds stop_grace{5};

extern "C" void stop_child_then_die(int sig) {
    if (const pid_t pid = running_child.exchange(0); pid > 0)
        process::stop_process_group(pid, stop_grace);
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

void throw_errno(const char* what) {
    throw std::system_error(errno, std::generic_category(), what);
}

std::string dynalite_js() {
    if (const char* js = std::getenv("DYNALOCK_DYNALITE_JS"); js && *js)
        return js;
    return DYNALOCK_SOURCE_ROOT "/node_modules/dynalite/cli.js";
}

sockaddr_in loopback(std::uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

/// A port the kernel just handed out and that we released again: free unless
/// someone else grabs it first, which `start_dynalite`'s retries absorb.
std::uint16_t free_loopback_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw_errno("socket");
    auto addr = loopback(0);
    socklen_t len = sizeof addr;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    const int saved = errno;
    ::close(fd);
    if (!ok)
        throw std::system_error(saved, std::generic_category(), "bind 127.0.0.1:0");
    return ntohs(addr.sin_port);
}

bool accepts_connections(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw_errno("socket");
    const auto addr = loopback(port);
    const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

/// Starts dynalite in its own process group (a Ctrl-C on the terminal reaches
/// only us, and we decide how it stops), its output on our stderr (stdout is
/// for results), published in `running_child` while our signals are still
/// blocked so that none can slip between the fork and the handler knowing the pid.
pid_t spawn_dynalite(const std::string& js, std::uint16_t port) {
    error_code ec;
    const pid_t pid = process::spawn({.argv = {"node", js, "--host", "127.0.0.1", "--port",
                                               std::to_string(port), "--createTableMs", "0"},
                                      .search_path = true,
                                      .standard_input = process::null_device,
                                      .standard_output = STDERR_FILENO,
                                      .own_process_group = true,
                                      .death_signal = SIGTERM,
                                      .published_pid = &running_child},
                                     ec);
    if (ec == boost::system::errc::no_such_file_or_directory) {
        throw std::runtime_error("could not execute `node`: is Node.js installed and on PATH?");
    }
    if (ec) {
        throw boost::system::system_error(ec, "starting dynalite");
    }
    return pid;
}

/// Waits until dynalite listens. Returns false if it exited first (port taken).
bool wait_listening(pid_t pid, std::uint16_t port) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
            running_child.store(0);
            std::fprintf(stderr, "dynalite on port %u exited (status %d)\n", port, status);
            return false;
        }
        if (accepts_connections(port))
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    throw std::runtime_error("dynalite did not listen on 127.0.0.1:" + std::to_string(port) +
                             " within 30 s");
}

}  // namespace

server_address parse_endpoint_url(std::string_view url) {
    dynalock::aws::endpoint parsed;
    dynalock::diagnostics diag;
    if (dynalock::aws::parse_endpoint(url, parsed, diag)) {
        throw std::invalid_argument("--endpoint-url: " + diag.message);
    }
    if (parsed.tls) {
        throw std::invalid_argument("--endpoint-url: the floor speaks plain TCP: use http://");
    }
    return {std::move(parsed.host), parsed.port, std::string(url)};
}

dynamodb_server::dynamodb_server(std::string_view endpoint_url) {
    if (!endpoint_url.empty()) {
        address_ = parse_endpoint_url(endpoint_url);
        return;
    }
    const std::string js = dynalite_js();
    if (::access(js.c_str(), R_OK) != 0)
        throw std::runtime_error(
            "dynalite not found at " + js +
            ": run `npm ci` in the source tree (tools/setup.sh) or set DYNALOCK_DYNALITE_JS");

    struct sigaction action {};
    action.sa_handler = stop_child_then_die;
    sigemptyset(&action.sa_mask);
    for (const int sig : forwarded_signals)
        ::sigaction(sig, &action, nullptr);

    for (int attempt = 0; attempt < 3; ++attempt) {
        const std::uint16_t port = free_loopback_port();
        const pid_t pid = spawn_dynalite(js, port);
        bool listening = false;
        try {
            listening = wait_listening(pid, port);
        } catch (...) {
            if (running_child.exchange(0) == pid)
                process::stop_process_group(pid, stop_grace);
            throw;
        }
        if (listening) {
            child_ = pid;
            address_ = {"127.0.0.1", port, "http://127.0.0.1:" + std::to_string(port)};
            std::fprintf(stderr, "dynalite (pid %d) listening at %s\n", pid, address_.url.c_str());
            return;
        }
    }
    throw std::runtime_error(
        "dynalite exited before listening, three times (see its output above)");
}

dynamodb_server::~dynamodb_server() {
    if (child_ <= 0)
        return;
    // Whoever clears running_child first stops the child: us or the signal handler.
    if (running_child.exchange(0) == child_)
        process::stop_process_group(child_, stop_grace);
    for (const int sig : forwarded_signals)
        ::signal(sig, SIG_DFL);
}

}  // namespace dynalock::harness
