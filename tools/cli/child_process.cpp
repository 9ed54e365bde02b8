#include "child_process.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <dirent.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>

extern char** environ;

namespace dynalock::cli {

namespace asio = boost::asio;

std::vector<int> open_descriptors() {
    std::vector<int> fds;
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) {
        return fds;
    }
    const int own = dirfd(dir);
    while (const dirent* e = readdir(dir)) {
        const int fd = std::atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != own) {
            fds.push_back(fd);
        }
    }
    closedir(dir);
    return fds;
}

namespace {

/// posix_spawn's resources, freed on every path.
struct spawn_setup {
    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attributes{};
    spawn_setup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    ~spawn_setup() {
        posix_spawnattr_destroy(&attributes);
        posix_spawn_file_actions_destroy(&actions);
    }
    spawn_setup(const spawn_setup&) = delete;
    spawn_setup& operator=(const spawn_setup&) = delete;
};

std::vector<std::string> environment_with(const environment_overrides& overrides) {
    std::vector<std::string> out;
    for (char** e = environ; *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const bool overridden = std::ranges::any_of(overrides, [&](const auto& kv) {
            return entry.starts_with(kv.first) && entry.size() > kv.first.size() &&
                   entry[kv.first.size()] == '=';
        });
        if (!overridden) {
            out.emplace_back(entry);
        }
    }
    for (const auto& [name, value] : overrides) {
        out.push_back(name + "=" + value);
    }
    return out;
}

std::vector<char*> pointers_to(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

}  // namespace

pid_t spawn_command(const std::vector<std::string>& argv, const environment_overrides& env,
                    const std::vector<int>& inherited) {
    spawn_setup setup;
    for (int fd : open_descriptors()) {
        if (fd > 2 && std::ranges::find(inherited, fd) == inherited.end()) {
            posix_spawn_file_actions_addclose(&setup.actions, fd);
        }
    }
    // The command starts as if from a shell: nothing blocked, the signals we
    // handle back to their defaults.
    sigset_t none;
    sigset_t handled;
    sigemptyset(&none);
    sigemptyset(&handled);
    for (int sig : {SIGCHLD, SIGINT, SIGTERM, SIGPIPE}) {
        sigaddset(&handled, sig);
    }
    posix_spawnattr_setsigmask(&setup.attributes, &none);
    posix_spawnattr_setsigdefault(&setup.attributes, &handled);
    posix_spawnattr_setflags(&setup.attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<std::string> args = argv;
    std::vector<std::string> environment = environment_with(env);
    const std::vector<char*> arg_pointers = pointers_to(args);
    const std::vector<char*> env_pointers = pointers_to(environment);
    pid_t pid = -1;
    if (int err = posix_spawnp(&pid, arg_pointers[0], &setup.actions, &setup.attributes,
                               arg_pointers.data(), env_pointers.data())) {
        errno = err;
        return -1;
    }
    return pid;
}

namespace {

// Shared with every pending handler: a handler that runs after supervise()
// returned (an aborted wait) still finds it alive.
struct supervision : std::enable_shared_from_this<supervision> {
    supervision(asio::any_io_executor ex, pid_t p, asio::signal_set& s, lease l,
                std::chrono::milliseconds g, std::function<void(loss_reason)> f)
        : pid(p),
          signals(s),
          held(std::move(l)),
          grace(g),
          on_lost(std::move(f)),
          exited(ex, asio::steady_timer::time_point::max()),
          kill_timer(ex) {}

    pid_t pid;
    asio::signal_set& signals;
    lease held;
    std::chrono::milliseconds grace;
    std::function<void(loss_reason)> on_lost;
    asio::steady_timer exited;  // cancelled when the command has been reaped
    asio::steady_timer kill_timer;
    asio::cancellation_signal stop_watching_lease;
    command_outcome outcome{};
    bool done = false;

    void start() {
        wait_signal();
        held.async_wait_lost(asio::bind_cancellation_slot(
            stop_watching_lease.slot(), [self = shared_from_this()](error_code ec, loss_reason r) {
                self->lease_ended(ec, r);
            }));
        reap();  // it may have exited before the first wait was armed
    }

    void wait_signal() {
        signals.async_wait([self = shared_from_this()](error_code ec, int sig) {
            if (ec || self->done) {
                return;
            }
            if (sig == SIGCHLD) {
                self->reap();
            } else {
                ::kill(self->pid, sig);
            }
            if (!self->done) {
                self->wait_signal();
            }
        });
    }

    void lease_ended(error_code ec, loss_reason reason) {
        if (ec || done) {
            return;
        }
        outcome.lost = reason;
        on_lost(reason);
        ::kill(pid, SIGTERM);
        kill_timer.expires_after(grace);
        kill_timer.async_wait([self = shared_from_this()](error_code ec) {
            if (!ec && !self->done) {
                ::kill(self->pid, SIGKILL);
            }
        });
    }

    void reap() {
        int status = 0;
        pid_t r = 0;
        do {
            r = ::waitpid(pid, &status, WNOHANG);
        } while (r < 0 && errno == EINTR);
        if (r != pid) {
            return;
        }
        done = true;
        outcome.wait_status = status;
        signals.cancel();
        kill_timer.cancel();
        stop_watching_lease.emit(asio::cancellation_type::terminal);
        exited.cancel();
    }
};

}  // namespace

asio::awaitable<command_outcome> supervise(pid_t pid, asio::signal_set& signals, lease held,
                                           std::chrono::milliseconds grace,
                                           std::function<void(loss_reason)> on_lost) {
    auto ex = co_await asio::this_coro::executor;
    auto s =
        std::make_shared<supervision>(ex, pid, signals, std::move(held), grace, std::move(on_lost));
    s->start();
    while (!s->done) {
        auto wait = s->exited.async_wait(asio::as_tuple(asio::deferred));
        co_await std::move(wait);
    }
    co_return s->outcome;
}

}  // namespace dynalock::cli
