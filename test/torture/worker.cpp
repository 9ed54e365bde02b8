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
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <random>
#include <stdexcept>
#include <system_error>
#include <thread>

namespace dynalock::torture {
namespace {

namespace asio = boost::asio;
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
        asio::co_spawn(io_, run_seats(), [&](std::exception_ptr e) { failure = e; });
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
        for (auto& s : stop_acquiring_)
            s.emit(asio::cancellation_type::terminal);
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

    asio::awaitable<void> run_seats() {
        auto ex = co_await asio::this_coro::executor;
        int running = o_.keys;
        std::exception_ptr failure;
        asio::steady_timer all_done(ex, clock::time_point::max());
        asio::co_spawn(ex, change_fault_plans(), asio::detached);
        for (int k = 0; k < o_.keys; ++k) {
            asio::co_spawn(ex, seat(k), [&](std::exception_ptr e) {
                if (e && !failure) {
                    failure = e;
                    stop();
                }
                if (--running == 0)
                    all_done.cancel();
            });
        }
        auto wait = all_done.async_wait(asio::as_tuple(asio::deferred));
        co_await std::move(wait);
        auto close = locks_.async_close(asio::as_tuple(asio::deferred));
        co_await std::move(close);
        signals_.cancel();
        if (failure)
            std::rethrow_exception(failure);
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

    asio::awaitable<void> seat(int k) {
        const std::string key = "k" + std::to_string(k);
        auto& stop_signal = stop_acquiring_[static_cast<std::size_t>(k)];
        while (!stopping_) {
            auto acquire =
                locks_.async_acquire(lock_key{key}, {},
                                     asio::bind_cancellation_slot(
                                         stop_signal.slot(), asio::as_tuple(asio::use_awaitable)));
            auto [ec, l] = co_await std::move(acquire);
            const auto granted_at = clock::now();
            if (ec == errc::lock_not_granted || stopping_)
                continue;
            if (ec) {
                // A fault (reset, 500, timeout): try again soon, not at once.
                ++counters_.acquire_errors;
                asio::steady_timer backoff(co_await asio::this_coro::executor,
                                           random_between(milliseconds(10), milliseconds(50)));
                auto wait = backoff.async_wait(asio::as_tuple(asio::deferred));
                co_await std::move(wait);
                continue;
            }
            hold h{.key = key,
                   .fence = l.fence(),
                   .owner = l.owner(),
                   .valid_from = nanoseconds_of(l.acquired_at()),
                   .granted_at = nanoseconds_of(granted_at)};
            auto stopped_at = clock::time_point::max();
            auto with_lease = locks_.async_with_lease(l, hold_and_write(l, h, stopped_at),
                                                      asio::as_tuple(asio::use_awaitable));
            auto [failure, lost] = co_await std::move(with_lease);
            stopped_at = std::min(stopped_at, clock::now());
            // The deadline only moves with successful heartbeats, and stays
            // where it was when the lease ends.
            h.valid_until = nanoseconds_of(std::min(stopped_at, l.deadline()));
            h.ended = lost ? std::string(to_string(l.reason())) : "released";
            append(format_line(h));
            if (failure)
                std::rethrow_exception(failure);
            const bool lost_to_others =
                l.reason() == loss_reason::stolen || l.reason() == loss_reason::expired;
            if (lost_to_others && std::bernoulli_distribution(zombie_write_chance)(rng_)) {
                auto zombie = write_as_zombie(h);
                co_await std::move(zombie);
            }
            // Else the releasing seat would nearly always win the released
            // lock again, before the others' next poll.
            asio::steady_timer rest(
                co_await asio::this_coro::executor,
                random_between(milliseconds(0), 2 * locks_.options().poll_period));
            auto wait = rest.async_wait(asio::as_tuple(asio::deferred));
            co_await std::move(wait);
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
        while (!stopping_ && clock::now() < hold_until && l.held()) {
            auto write = protected_write(h);
            const error_code ec = co_await std::move(write);
            switch (outcome_of(ec)) {
                case write_outcome::accepted:
                    ++counters_.protected_writes;
                    if (h.writes_accepted++ == 0)
                        h.first_accepted_at = nanoseconds_of(clock::now());
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
    std::vector<asio::cancellation_signal> stop_acquiring_;
    std::FILE* log_;
    bool stopping_ = false;
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
