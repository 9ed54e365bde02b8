#include <dynalock/leader_election.hpp>

#include "groups/leader_election_tracker.hpp"
#include "lock/time_source.hpp"
#include "spawn_op.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/this_coro.hpp>

#include <set>
#include <system_error>
#include <tuple>

namespace dynalock {

namespace asio = boost::asio;

namespace {

constexpr auto as_tuple = asio::as_tuple(asio::deferred);

leader_election_options validated(leader_election_options o) {
    if (auto problem = o.validate()) {
        throw std::system_error(make_error_code(errc::invalid_argument),
                                "leader_election_options: " + *problem);
    }
    return o;
}

}  // namespace

struct leader_election::impl {
    impl(store& s, leader_election_options o, std::shared_ptr<detail::time_source> t)
        : options(validated(std::move(o))), time(std::move(t)) {
        locks.emplace(s, options.lock_options(), time);
        options.identity = locks->options().owner;
    }

    leader_election_options options;
    std::shared_ptr<detail::time_source> time;
    // Reset by the election's destructor; the coroutines, which may outlive
    // it, check `closed` before every use.
    std::optional<lock_client> locks;
    groups::leader_tracker tracker;
    // The pauses of campaigns and observers, ended by close().
    std::set<detail::timer*> pauses;
    bool closed = false;

    void close() {
        closed = true;
        for (detail::timer* t : pauses) {
            t->cancel();
        }
    }

    // Waits a retry period: success, operation_aborted when the caller
    // cancelled, errc::client_closed when the election was closed.
    static asio::awaitable<error_code> pause(std::shared_ptr<impl> self) {
        auto t = self->time->make_timer(co_await asio::this_coro::executor);
        self->pauses.insert(t.get());
        auto [ec] =
            co_await t->async_wait_until(self->time->now() + self->options.retry_period, as_tuple);
        self->pauses.erase(t.get());
        co_return self->closed ? make_error_code(errc::client_closed) : ec;
    }

    static asio::awaitable<std::tuple<error_code, leadership>> campaign(
        std::shared_ptr<impl> self) {
        co_await detail::no_throw_on_cancel;
        // One acquire waits for as long as the leader keeps renewing; it
        // ends without a grant only after its (long) wait, and then another
        // one starts.
        const acquire_options wait_for_leader{.wait = max_lease};
        for (;;) {
            if (self->closed) {
                co_return std::tuple{make_error_code(errc::client_closed), leadership{}};
            }
            auto [ec, l] =
                co_await self->locks->async_acquire(self->options.name, wait_for_leader, as_tuple);
            if (!ec) {
                co_return std::tuple{ec, leadership(std::move(l))};
            }
            if (detail::cancelled(co_await asio::this_coro::cancellation_state)) {
                co_return std::tuple{make_error_code(asio::error::operation_aborted), leadership{}};
            }
            if (ec == errc::lock_not_granted) {
                continue;
            }
            if (!is_retryable(ec)) {
                co_return std::tuple{ec, leadership{}};
            }
            if (auto paused = co_await pause(self)) {
                co_return std::tuple{paused, leadership{}};
            }
        }
    }

    static asio::awaitable<std::tuple<error_code, std::optional<leader_info>>> wait_change(
        std::shared_ptr<impl> self, std::optional<leader_info> known) {
        co_await detail::no_throw_on_cancel;
        for (bool first = true;; first = false) {
            if (!first) {
                if (auto paused = co_await pause(self)) {
                    co_return std::tuple{paused, std::optional<leader_info>{}};
                }
            }
            if (self->closed) {
                co_return std::tuple{make_error_code(errc::client_closed),
                                     std::optional<leader_info>{}};
            }
            auto [ec, item] = co_await self->locks->async_get(self->options.name, as_tuple);
            if (detail::cancelled(co_await asio::this_coro::cancellation_state)) {
                co_return std::tuple{make_error_code(asio::error::operation_aborted),
                                     std::optional<leader_info>{}};
            }
            if (ec && !is_retryable(ec)) {
                co_return std::tuple{ec, std::optional<leader_info>{}};
            }
            if (ec) {
                continue;
            }
            const auto& leader = self->tracker.on_read(self->time->now(), item);
            if (leader != known) {
                co_return std::tuple{error_code{}, leader};
            }
        }
    }
};

leader_election::leader_election(store& s, leader_election_options options)
    : leader_election(s, std::move(options), detail::steady_time()) {}

leader_election::leader_election(store& s, leader_election_options options,
                                 std::shared_ptr<detail::time_source> time)
    : impl_(std::make_shared<impl>(s, std::move(options), std::move(time))) {}

leader_election::~leader_election() {
    // Destroying the lock client ends the campaigns waiting in its acquires.
    impl_->close();
    impl_->locks.reset();
}

leader_election::executor_type leader_election::get_executor() const {
    return impl_->locks->get_executor();
}

const leader_election_options& leader_election::options() const noexcept {
    return impl_->options;
}

lock_client& leader_election::locks() {
    return *impl_->locks;
}

void leader_election::start_campaign(asio::any_completion_handler<void(error_code, leadership)> h) {
    detail::spawn_own_op(impl_->locks->get_executor(), impl::campaign(impl_), std::move(h));
}

void leader_election::start_wait_leader_change(
    std::optional<leader_info> known,
    asio::any_completion_handler<void(error_code, std::optional<leader_info>)> h) {
    detail::spawn_own_op(impl_->locks->get_executor(), impl::wait_change(impl_, std::move(known)),
                         std::move(h));
}

void leader_election::start_close(asio::any_completion_handler<void(error_code)> h) {
    impl_->close();
    impl_->locks->async_close(std::move(h));
}

}  // namespace dynalock
