#include "worker.hpp"

#include "checker.hpp"
#include "support/fault_proxy.hpp"

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace dynalock::torture {
namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::int64_t nanoseconds_of(clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

/// The worker's fault proxy between its client and the server, on a thread
/// of its own so that the proxy's I/O does not queue behind the worker's.
class proxy_thread {
public:
    proxy_thread(const std::string& upstream_url, std::uint64_t seed)
        : proxy_(io_.get_executor(), test::upstream_endpoint(upstream_url).host,
                 test::upstream_endpoint(upstream_url).port, seed),
          thread_([this] { io_.run(); }) {}

    ~proxy_thread() {
        asio::post(io_, [this] {
            proxy_.close();
            io_.stop();
        });
        thread_.join();
    }
    proxy_thread(const proxy_thread&) = delete;
    proxy_thread& operator=(const proxy_thread&) = delete;

    test::fault_proxy& proxy() noexcept { return proxy_; }

private:
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> keep_running_{io_.get_executor()};
    test::fault_proxy proxy_;
    std::thread thread_;
};

/// Share of leases lost to others (stolen, expired) after which the worker
/// writes once more with the lost fence.
constexpr double zombie_write_chance = 0.3;

/// Requests that got a fault of any kind, latency included.
std::uint64_t faulted_requests(const test::fault_counters& c) {
    return c.delayed + c.drop_response + c.reset_request + c.reset_response + c.throttle +
           c.server_error + c.trickle + c.blackhole;
}

/// Coroutines started together and awaited together. The first exception
/// any of them throws is kept (and `on_failure` called, so that the others
/// stop) and returned by wait().
class task_group {
public:
    task_group(asio::any_io_executor ex, std::function<void()> on_failure)
        : ex_(ex), all_done_(ex, clock::time_point::max()), on_failure_(std::move(on_failure)) {}
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    void spawn(asio::awaitable<void> task) {
        ++running_;
        asio::co_spawn(ex_, std::move(task), [this](std::exception_ptr e) {
            if (e && !failure_) {
                failure_ = e;
                on_failure_();
            }
            if (--running_ == 0)
                all_done_.cancel();
        });
    }

    /// Must be awaited before the group is destroyed.
    asio::awaitable<std::exception_ptr> wait() {
        if (running_ > 0) {
            auto wait = all_done_.async_wait(asio::as_tuple(asio::deferred));
            co_await std::move(wait);
        }
        co_return failure_;
    }

private:
    asio::any_io_executor ex_;
    asio::steady_timer all_done_;
    std::function<void()> on_failure_;
    int running_ = 0;
    std::exception_ptr failure_;
};

/// What the seats of one session's round share: the session, and whether
/// the round is over (the session closed or lost, or the worker stopping).
struct session_round {
    session s;
    bool over = false;
};

class worker {
public:
    explicit worker(const options& o)
        : o_(o),
          faults_(o.endpoint_url, o.seed),
          db_(io_.get_executor(), client_options_for(faults_.proxy().url())),
          store_(db_, {.table_name = o.lock_table}),
          locks_(store_, {.owner = "w" + std::to_string(o.index) + "-" + std::to_string(::getpid()),
                          .lease = o.lease,
                          .heartbeat_period = o.lease / 4,
                          .safety_margin = o.lease / 10,
                          .poll_period = std::max(milliseconds(20), o.lease / 20),
                          .request_timeout = o.lease}),
          rng_(o.seed),
          signals_(io_, SIGTERM, SIGINT),
          next_plan_(io_),
          round_end_(io_),
          stop_acquiring_(static_cast<std::size_t>(o.keys)),
          log_(std::fopen(o.log_path.c_str(), "a")) {
        if (log_ == nullptr)
            throw std::system_error(errno, std::generic_category(), "opening " + o.log_path);
    }

    ~worker() { std::fclose(log_); }
    worker(const worker&) = delete;
    worker& operator=(const worker&) = delete;

    void run() {
        signals_.async_wait([this](error_code ec, int) {
            if (!ec)
                stop();
        });
        std::exception_ptr failure;
        asio::co_spawn(io_, o_.mode == worker_mode::session ? run_sessions() : run_seats(),
                       [&](std::exception_ptr e) { failure = e; });
        io_.run();
        if (failure)
            std::rethrow_exception(failure);
        counters_.faults = faulted_requests(faults_.proxy().counters());
        append(format_line(counters_));
    }

private:
    void stop() {
        stopping_ = true;
        // A clean network from here on, so that releases get through.
        faults_.proxy().set_plan({});
        next_plan_.cancel();
        round_end_.cancel();
        stop_acquires();
    }

    void stop_acquires() {
        for (auto& s : stop_acquiring_)
            s.emit(asio::cancellation_type::terminal);
    }

    /// Sessions this client ended as a contender, logged as they grow so
    /// that a worker killed later still counts them.
    void note_session_kills() {
        const std::uint64_t kills = locks_.stats().session_kills;
        if (kills != logged_session_kills_) {
            logged_session_kills_ = kills;
            append(format_session_kills(kills));
        }
    }

    asio::awaitable<void> rest(milliseconds low, milliseconds high) {
        asio::steady_timer timer(co_await asio::this_coro::executor, random_between(low, high));
        auto wait = timer.async_wait(asio::as_tuple(asio::deferred));
        co_await std::move(wait);
    }

    /// Each line is flushed at once: the supervisor reads the log after this
    /// process ended, however it ended.
    void append(const std::string& line) {
        if (std::fputs(line.c_str(), log_) < 0 || std::fflush(log_) != 0)
            throw std::system_error(errno, std::generic_category(), "writing " + o_.log_path);
    }

    template <class Duration>
    Duration random_between(Duration low, Duration high) {
        return Duration(
            std::uniform_int_distribution<typename Duration::rep>(low.count(), high.count())(rng_));
    }

    /// A per-lock worker: one seat per key, each lock with a lease of its own.
    asio::awaitable<void> run_seats() {
        auto ex = co_await asio::this_coro::executor;
        asio::co_spawn(ex, change_fault_plans(), asio::detached);
        task_group seats(ex, [this] { stop(); });
        for (int k = 0; k < o_.keys; ++k)
            seats.spawn(seat(k, nullptr));
        const std::exception_ptr failure = co_await seats.wait();
        co_await close_client();
        if (failure)
            std::rethrow_exception(failure);
    }

    /// A session worker: rounds, each under a session of its own that lives a
    /// random time and is then closed with its locks held and their work
    /// running (one write frees them all), unless it is lost first (a pause
    /// longer than its lease lets contenders end it). Half the rounds hold
    /// one seat per key, the others take random sets of keys at once
    /// (async_acquire_many).
    asio::awaitable<void> run_sessions() {
        auto ex = co_await asio::this_coro::executor;
        asio::co_spawn(ex, change_fault_plans(), asio::detached);
        const session_options named{.prefix = "torture-session/w" + std::to_string(o_.index) + "-"};
        std::exception_ptr failure;
        while (!stopping_ && !failure) {
            auto open = locks_.async_open_session(
                named, asio::bind_cancellation_slot(stop_acquiring_[0].slot(),
                                                    asio::as_tuple(asio::use_awaitable)));
            auto [ec, s] = co_await std::move(open);
            if (stopping_)
                break;
            if (ec) {
                ++counters_.acquire_errors;
                co_await rest(milliseconds(10), milliseconds(50));
                continue;
            }
            append(format_session(s.key().partition, s.epoch()));
            session_round round{.s = s};
            task_group seats(ex, [this] { stop(); });
            if (std::bernoulli_distribution(0.5)(rng_)) {
                for (int k = 0; k < o_.keys; ++k)
                    seats.spawn(seat(k, &round));
            } else {
                seats.spawn(take_many(round));
            }
            round_end_.expires_after(random_between(o_.lease, 8 * o_.lease));
            auto lived = round_end_.async_wait(asio::as_tuple(asio::use_awaitable)) ||
                         s.async_wait_lost(asio::as_tuple(asio::use_awaitable));
            co_await std::move(lived);
            round.over = true;
            if (!stopping_ && s.held()) {
                auto close = locks_.async_close_session(s, asio::as_tuple(asio::deferred));
                co_await std::move(close);
            }
            stop_acquires();
            failure = co_await seats.wait();
        }
        co_await close_client();
        if (failure)
            std::rethrow_exception(failure);
    }

    asio::awaitable<void> close_client() {
        auto close = locks_.async_close(asio::as_tuple(asio::deferred));
        co_await std::move(close);
        signals_.cancel();
    }

    /// A new fault plan every 1 to 3 s: half the periods clean, the others
    /// one kind of fault each, a blackhole at most about a lease long.
    asio::awaitable<void> change_fault_plans() {
        while (!stopping_) {
            auto period = random_between(milliseconds(1000), milliseconds(3000));
            test::fault_plan plan;
            switch (std::uniform_int_distribution<int>(0, 15)(rng_)) {
                case 8:
                case 9:
                    plan.latency = random_between(milliseconds(10), o_.lease / 4);
                    plan.latency_jitter = random_between(milliseconds(0), o_.lease / 4);
                    break;
                case 10:
                    plan.drop_response = 0.2;
                    break;
                case 11:
                    plan.reset_request = 0.1;
                    plan.reset_response = 0.1;
                    break;
                case 12:
                    plan.throttle = 0.3;
                    break;
                case 13:
                    plan.server_error = 0.2;
                    break;
                case 14:
                    plan.trickle = 0.3;
                    break;
                case 15:
                    plan.blackhole = true;
                    period = random_between(o_.lease / 4, o_.lease + o_.lease / 2);
                    break;
                default:
                    break;  // clean
            }
            faults_.proxy().set_plan(plan);
            next_plan_.expires_after(period);
            auto wait = next_plan_.async_wait(asio::as_tuple(asio::deferred));
            co_await std::move(wait);
        }
        faults_.proxy().set_plan({});
    }

    /// Takes key `k` again and again: with a lease of its own, or under the
    /// session of `round` until the round is over.
    asio::awaitable<void> seat(int k, const session_round* round) {
        const std::string key = "k" + std::to_string(k);
        auto& stop_signal = stop_acquiring_[static_cast<std::size_t>(k)];
        const auto in_round = [&] { return !round || (!round->over && round->s.held()); };
        while (!stopping_ && in_round()) {
            auto acquire =
                locks_.async_acquire(lock_key{key}, {.session = round ? round->s : session{}},
                                     asio::bind_cancellation_slot(
                                         stop_signal.slot(), asio::as_tuple(asio::use_awaitable)));
            auto [ec, l] = co_await std::move(acquire);
            const auto granted_at = clock::now();
            note_session_kills();
            if (!ec) {
                co_await hold_lease(l, granted_at);
            } else if (ec == errc::lock_not_granted || stopping_ || !in_round()) {
                continue;
            } else {
                // A fault (reset, 500, timeout): try again soon, not at once.
                ++counters_.acquire_errors;
                co_await rest(milliseconds(10), milliseconds(50));
                continue;
            }
            // Else the releasing seat would nearly always win the released
            // lock again, before the others' next poll.
            co_await rest(milliseconds(0), 2 * locks_.options().poll_period);
        }
    }

    /// Takes a random set of keys at once under the round's session (waiting
    /// for held ones half the time), holds what it got, and again, until the
    /// round is over.
    asio::awaitable<void> take_many(const session_round& round) {
        auto ex = co_await asio::this_coro::executor;
        while (!stopping_ && !round.over && round.s.held()) {
            std::vector<lock_key> keys;
            for (int k = 0; k < o_.keys; ++k) {
                if (std::bernoulli_distribution(0.5)(rng_))
                    keys.emplace_back("k" + std::to_string(k));
            }
            if (keys.empty())
                keys.emplace_back(
                    "k" + std::to_string(std::uniform_int_distribution<int>(0, o_.keys - 1)(rng_)));
            auto acquire = locks_.async_acquire_many(
                std::move(keys),
                {.concurrency = static_cast<std::size_t>(o_.keys),
                 .wait = std::bernoulli_distribution(0.5)(rng_),
                 .each = {.session = round.s}},
                asio::bind_cancellation_slot(stop_acquiring_[0].slot(),
                                             asio::as_tuple(asio::use_awaitable)));
            auto [ec, got] = co_await std::move(acquire);
            // The leases are handed over only now: believed from here on.
            const auto granted_at = clock::now();
            note_session_kills();
            if (ec && ec != asio::error::operation_aborted)
                throw std::system_error(ec, "async_acquire_many");
            for (const auto& refusal : got.refused) {
                if (refusal.error != errc::lock_not_granted && refusal.error != errc::lease_lost &&
                    refusal.error != asio::error::operation_aborted)
                    ++counters_.acquire_errors;
            }
            task_group holds(ex, [this] { stop(); });
            for (const lease& l : got.granted)
                holds.spawn(hold_lease(l, granted_at));
            if (const std::exception_ptr failure = co_await holds.wait())
                std::rethrow_exception(failure);
            co_await rest(milliseconds(0), 2 * locks_.options().poll_period);
        }
    }

    /// Holds `l`, granted to this worker at `granted_at`, while writing the
    /// protected item, logging its life; then, after some losses to others,
    /// writes once more with its fence as a zombie.
    asio::awaitable<void> hold_lease(lease l, clock::time_point granted_at) {
        hold h{.key = l.key().partition,
               .fence = l.fence(),
               .owner = l.owner(),
               .valid_from = nanoseconds_of(l.acquired_at()),
               .granted_at = nanoseconds_of(granted_at),
               .session = l.bound_session() ? l.bound_session()->key.partition : std::string()};
        append(format_grant(h, nanoseconds_of(l.deadline())));
        auto stopped_at = clock::time_point::max();
        auto with_lease = locks_.async_with_lease(l, hold_and_write(l, h, stopped_at),
                                                  asio::as_tuple(asio::use_awaitable));
        auto [failure, lost] = co_await std::move(with_lease);
        stopped_at = std::min(stopped_at, clock::now());
        // The deadline only moves with successful heartbeats (of the session,
        // for a lock held under one), and stays where it was when the lease ends.
        h.valid_until = nanoseconds_of(std::min(stopped_at, l.deadline()));
        h.ended = lost ? std::string(to_string(l.reason())) : "released";
        append(format_end(h));
        if (failure)
            std::rethrow_exception(failure);
        const bool lost_to_others =
            l.reason() == loss_reason::stolen || l.reason() == loss_reason::expired;
        if (lost_to_others && std::bernoulli_distribution(zombie_write_chance)(rng_)) {
            auto zombie = write_as_zombie(h);
            co_await std::move(zombie);
        }
    }

    /// The critical section: fenced writes of the key's protected item until a
    /// random hold time is over, the worker stops, or the lease is lost (the
    /// lock client then cancels this). Counts the writes' outcomes in `h` and
    /// leaves in `stopped_at` when it stopped.
    asio::awaitable<void> hold_and_write(lease l, hold& h, clock::time_point& stopped_at) {
        auto ex = co_await asio::this_coro::executor;
        asio::steady_timer between_writes(ex);
        // Half the holds short (many grants), half long (many heartbeats).
        const auto hold_for = std::bernoulli_distribution(0.5)(rng_)
                                  ? random_between(milliseconds(0), o_.lease / 4)
                                  : random_between(o_.lease / 4, 2 * o_.lease);
        const auto hold_until = clock::now() + hold_for;
        auto logged_deadline = l.deadline();
        while (!stopping_ && clock::now() < hold_until && l.held()) {
            // Logged before the write that acts on it: a worker killed later
            // is believed no longer than it logged.
            if (l.deadline() != logged_deadline) {
                logged_deadline = l.deadline();
                append(format_renewal(h, nanoseconds_of(logged_deadline)));
            }
            auto write = protected_write(h);
            const error_code ec = co_await std::move(write);
            switch (outcome_of(ec)) {
                case write_outcome::accepted:
                    ++counters_.protected_writes;
                    if (h.writes_accepted++ == 0) {
                        h.first_accepted_at = nanoseconds_of(clock::now());
                        append(format_first_write(h));
                    }
                    break;
                case write_outcome::refused:
                    ++counters_.stale_writes_refused;
                    break;
                case write_outcome::unknown:
                    ++h.writes_unknown;
                    if (ec != asio::error::operation_aborted)
                        ++counters_.write_errors;
                    break;
            }
            if (ec == asio::error::operation_aborted)
                break;
            between_writes.expires_after(random_between(milliseconds(2), milliseconds(20)));
            auto wait = between_writes.async_wait(asio::as_tuple(asio::deferred));
            auto [waited] = co_await std::move(wait);
            if (waited)
                break;
        }
        stopped_at = clock::now();
        // Before the release (async_with_lease asks for it once this returns),
        // which can free the lock for others before the end is logged.
        append(format_stop(h, nanoseconds_of(stopped_at)));
    }

    /// One more protected write with the fence of the lease `h` lost, as a
    /// client that checked its lease, paused, then wrote would.
    asio::awaitable<void> write_as_zombie(const hold& h) {
        zombie_write z{.key = h.key, .fence = h.fence, .sent_at = nanoseconds_of(clock::now())};
        auto write = protected_write(h);
        z.outcome = outcome_of(co_await std::move(write));
        append(format_line(z));
    }

    /// A failure other than a refusal may still have applied the write (a
    /// dropped answer, a reset after sending, a timeout, a cancellation).
    static write_outcome outcome_of(error_code ec) {
        if (!ec)
            return write_outcome::accepted;
        return ec == errc::conditional_check_failed ? write_outcome::refused
                                                    : write_outcome::unknown;
    }

    /// The downstream storage of the critical section: an item that accepts
    /// a write only with a fence at least as high as any written before.
    asio::awaitable<error_code> protected_write(const hold& h) {
        dynamodb::update_item_request req{
            .table_name = o_.data_table,
            .key = protected_item_key(h.key),
            .update_expression = "SET #fence = :fence, #owner = :owner ADD #writes :one",
            .condition_expression = "attribute_not_exists(#fence) OR #fence <= :fence",
            .expression_attribute_names = {{"#fence", "fence"},
                                           {"#owner", "owner"},
                                           {"#writes", "writes"}},
            .expression_attribute_values = {{":fence", number{std::to_string(h.fence)}},
                                            {":owner", attribute_value(h.owner)},
                                            {":one", number{"1"}}},
        };
        auto write = db_.async_execute(std::move(req), {.deadline = clock::now() + o_.lease},
                                       asio::as_tuple(asio::deferred));
        auto [ec, response] = co_await std::move(write);
        co_return ec;
    }

    const options& o_;
    asio::io_context io_;
    proxy_thread faults_;
    dynamodb::client db_;
    dynamodb_store store_;
    lock_client locks_;
    std::mt19937_64 rng_;
    asio::signal_set signals_;
    asio::steady_timer next_plan_;
    /// The end of the current session's round (session workers).
    asio::steady_timer round_end_;
    /// Per seat (per key); a session worker's opening and batches use the first.
    std::vector<asio::cancellation_signal> stop_acquiring_;
    std::FILE* log_;
    bool stopping_ = false;
    std::uint64_t logged_session_kills_ = 0;
    worker_counters counters_;
};

}  // namespace

int run_worker(const options& o) {
    try {
        worker w(o);
        w.run();
        return 0;
    } catch (const std::exception& e) {
        std::cerr << "torture worker " << o.index << ": " << e.what() << "\n";
        return 1;
    }
}

}  // namespace dynalock::torture
