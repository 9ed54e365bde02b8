#include "guarded_command.hpp"

#include "child_process.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <array>
#include <cerrno>
#include <memory>

namespace dynalock::cli {

namespace asio = boost::asio;

pid_t spawn_command(const std::vector<std::string>& argv, const environment_overrides& env,
                    const std::vector<int>& inherited) {
    // The command starts as if from a shell: nothing blocked, the signals we
    // handle or ignore back to their defaults.
    static constexpr std::array<int, 4> handled{SIGCHLD, SIGINT, SIGTERM, SIGPIPE};
    error_code ec;
    const pid_t pid = process::spawn({.argv = argv,
                                      .search_path = true,
                                      .environment = env,
                                      .inherited_descriptors = inherited,
                                      .default_signals = handled},
                                     ec);
    if (pid < 0) {
        errno = ec.value();
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
