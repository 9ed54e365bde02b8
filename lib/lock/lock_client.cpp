// The coroutine shell of the lock: it performs what acquire_machine and
// lease_machine decide, one coroutine per acquire and per held lease.

#include <dynalock/lock_client.hpp>

#include "lock/acquire_machine.hpp"
#include "lock/lease_machine.hpp"
#include "lock/lease_scheduler.hpp"
#include "lock/lock_item.hpp"
#include "spawn_op.hpp"

#include <unistd.h>

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <list>
#include <map>
#include <set>
#include <stdexcept>
#include <system_error>

namespace dynalock {

namespace asio = boost::asio;
using lock::clock;
using std::chrono::milliseconds;

namespace {

// g++ 12 destroys some temporaries of a `co_await` full-expression twice
// (seen: a lambda holding shared_ptrs, passed to async_initiate). So every
// asynchronous operation below is first made a named deferred operation and
// then awaited with `co_await std::move(op)`: no temporary spans the suspension.
constexpr auto as_tuple = asio::as_tuple(asio::deferred);

std::string default_owner() {
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0') {
        return "dynalock-" + lock::random_hex(4);
    }
    return std::string(host.data()) + "-" + lock::random_hex(4);
}

template <class Executor, class Handler, class... Args>
void complete_later(const Executor& ex, Handler h, Args... args) {
    asio::post(ex, asio::append(std::move(h), std::move(args)...));
}

}  // namespace

std::optional<std::string> lock_client_options::validate() const {
    auto ms = [](milliseconds d) { return std::to_string(d.count()) + " ms"; };
    // Bounds far beyond any use, so that no deadline computed from them can
    // overflow the steady clock.
    constexpr milliseconds max_request_timeout = std::chrono::hours(1);
    constexpr std::size_t max_in_flight_limit = 65536;
    constexpr std::size_t max_observations = 10'000'000;
    if (lease <= milliseconds::zero() || lease > max_lease) {
        return "lease (" + ms(lease) + ") must be positive and at most " + ms(max_lease) +
               " (7 days, max_lease)";
    }
    if (heartbeat_period <= milliseconds::zero()) {
        return "heartbeat_period must be positive";
    }
    if (lease < 2 * heartbeat_period) {
        return "lease (" + ms(lease) + ") must be at least twice heartbeat_period (" +
               ms(heartbeat_period) + "); three times or more is recommended";
    }
    if (safety_margin < milliseconds::zero() || heartbeat_period + safety_margin >= lease) {
        return "safety_margin (" + ms(safety_margin) +
               ") must be zero or more and leave room for a heartbeat within the lease";
    }
    if (poll_period <= milliseconds::zero() || poll_period > max_lease) {
        return "poll_period (" + ms(poll_period) + ") must be positive and at most " +
               ms(max_lease) + " (7 days)";
    }
    if (request_timeout <= milliseconds::zero() || request_timeout > max_request_timeout) {
        return "request_timeout (" + ms(request_timeout) + ") must be positive and at most " +
               ms(max_request_timeout) + " (1 hour)";
    }
    if (heartbeat_retry_delay <= milliseconds::zero() || heartbeat_retry_delay >= lease) {
        return "heartbeat_retry_delay must be positive and below the lease";
    }
    if (danger_zone < milliseconds::zero() || danger_zone >= lease) {
        return "danger_zone must be zero or more and below the lease";
    }
    if (max_in_flight == 0 || max_in_flight > max_in_flight_limit) {
        return "max_in_flight (" + std::to_string(max_in_flight) + ") must be from 1 to " +
               std::to_string(max_in_flight_limit);
    }
    if (observation_cache_size > max_observations) {
        return "observation_cache_size (" + std::to_string(observation_cache_size) +
               ") must be at most " + std::to_string(max_observations);
    }
    if (owner.size() > 1024) {
        return "owner must be at most 1024 bytes";
    }
    return std::nullopt;
}

namespace detail {

// One held lease: its machine (inside the scheduler's view of it), the client
// that drives it, and who waits for what from it.
struct lease_state : lock::scheduled_lease, std::enable_shared_from_this<lease_state> {
    lease_state(asio::any_io_executor e, std::weak_ptr<lock_client::impl> c, lock::lease_machine m)
        : scheduled_lease(std::move(m)), ex(std::move(e)), client(std::move(c)) {}

    struct heartbeat_waiter {
        std::uint64_t needed;
        asio::any_completion_handler<void(error_code)> handler;
    };

    asio::any_io_executor ex;
    std::weak_ptr<lock_client::impl> client;
    loss_reason final_reason = loss_reason::none;
    bool closing = false;  // released because the client closes
    std::uint64_t heartbeats_started = 0;
    std::vector<asio::any_completion_handler<void(error_code, loss_reason)>> lost_waiters;
    std::vector<asio::any_completion_handler<void(error_code)>> release_waiters;
    std::vector<heartbeat_waiter> heartbeat_waiters;
    std::vector<asio::cancellation_signal*> bound_work;

    // Asks the client to look at this lease now (a release or heartbeat was
    // requested).
    void wake();
};

}  // namespace detail

struct lock_client::impl : std::enable_shared_from_this<impl> {
    impl(store& s, lock_client_options o)
        : st(s),
          opts(validated(std::move(o))),
          ex(s.get_executor()),
          lease_params(std::make_shared<const lock::lease_params>(lock::lease_params{
              .owner = opts.owner,
              .lease = opts.lease,
              .heartbeat_period = opts.heartbeat_period,
              .safety_margin = opts.safety_margin,
              .danger_zone = opts.danger_zone,
              .retry_delay = opts.heartbeat_retry_delay,
              .automatic_heartbeats = opts.automatic_heartbeats,
              .delete_on_release = opts.delete_on_release,
              .new_version = lock::new_record_version,
              // A hundredth of the period at most: far below any lease, and
              // 10,000 leases on a 3 s period wake the client 100 times a
              // second instead of 3,333.
              .heartbeat_tick = std::min(milliseconds(10), opts.heartbeat_period / 100),
              .random_unit = lock::random_unit,
          })),
          scheduler(opts.max_in_flight),
          wake_timer(ex) {}

    static lock_client_options validated(lock_client_options o) {
        if (auto problem = o.validate()) {
            throw std::system_error(make_error_code(errc::invalid_argument),
                                    "lock_client_options: " + *problem);
        }
        if (o.owner.empty()) {
            o.owner = default_owner();
        }
        return o;
    }

    store& st;
    const lock_client_options opts;
    asio::any_io_executor ex;
    // Shared by every lease: one copy of the owner and the timing.
    std::shared_ptr<const lock::lease_params> lease_params;
    lock::lease_scheduler scheduler;
    asio::steady_timer wake_timer;
    bool timer_armed = false;
    clock::time_point timer_at{};
    std::uint64_t timer_generation = 0;
    std::uint64_t acquired = 0;
    std::uint64_t acquires_throttled = 0;
    bool closed = false;
    std::size_t acquires_in_flight = 0;
    std::set<asio::steady_timer*> acquire_timers;
    std::map<lock_key, std::shared_ptr<detail::lease_state>> held;
    std::vector<asio::any_completion_handler<void(error_code)>> close_waiters;

    // The observation cache, least recently used first.
    std::list<std::pair<lock_key, lock::observation>> observations;
    std::map<lock_key, decltype(observations)::iterator> observation_index;

    std::optional<lock::observation> known(const lock_key& key) const {
        auto it = observation_index.find(key);
        return it == observation_index.end() ? std::nullopt : std::optional(it->second->second);
    }

    void forget(const lock_key& key) {
        if (auto it = observation_index.find(key); it != observation_index.end()) {
            observations.erase(it->second);
            observation_index.erase(it);
        }
    }

    void remember(const lock_key& key, const lock::observation& o) {
        forget(key);
        if (opts.observation_cache_size == 0) {
            return;
        }
        observations.emplace_back(key, o);
        observation_index[key] = std::prev(observations.end());
        if (observations.size() > opts.observation_cache_size) {
            observation_index.erase(observations.front().first);
            observations.pop_front();
        }
    }

    error_code validate(const lock_key& key, const acquire_options& o, diagnostics& diag) const {
        auto fail = [&](errc e, std::string msg) {
            diag.message = std::move(msg);
            return make_error_code(e);
        };
        std::string why;
        if (error_code ec = lock::validate_key(key, why)) {
            return fail(errc::invalid_argument, "lock key: " + why);
        }
        for (const auto& [name, value] : o.extra) {
            if (lock::is_lock_attribute(name)) {
                return fail(errc::invalid_argument, "acquire_options::extra: attribute '" + name +
                                                        "' is one of the lock's own");
            }
        }
        if (o.wait && (*o.wait < milliseconds::zero() || *o.wait > max_lease)) {
            return fail(errc::invalid_argument,
                        "acquire_options::wait must be from 0 to 7 days (max_lease)");
        }
        if (o.data && o.remove_data) {
            return fail(errc::invalid_argument,
                        "acquire_options: data and remove_data contradict each other");
        }
        return {};
    }

    // --- acquire ------------------------------------------------------------

    asio::awaitable<std::tuple<error_code, lease>> acquire(lock_key key, acquire_options o,
                                                           bool wait) {
        auto self = shared_from_this();
        diagnostics local;
        diagnostics& diag = o.diagnostics != nullptr ? *o.diagnostics : local;
        diag.clear();
        if (error_code ec = validate(key, o, diag)) {
            co_return std::tuple{ec, lease{}};
        }
        if (closed) {
            co_return std::tuple{make_error_code(errc::client_closed), lease{}};
        }
        if (auto it = held.find(key); it != held.end() && o.reentrant) {
            co_return std::tuple{error_code{}, lease(it->second)};
        }
        // close() waits for every acquire in flight, however it ends.
        struct in_flight {
            impl& self;
            explicit in_flight(impl& s) : self(s) { ++self.acquires_in_flight; }
            ~in_flight() {
                --self.acquires_in_flight;
                self.maybe_finish_close();
            }
        } counted(*this);
        auto loop = acquire_loop(key, o, wait, diag);
        co_return co_await std::move(loop);
    }

    asio::awaitable<std::tuple<error_code, lease>> acquire_loop(const lock_key& key,
                                                                acquire_options& o, bool wait,
                                                                diagnostics& diag) {
        lock::acquire_params params{
            .key = key,
            .owner = opts.owner,
            .lease = opts.lease,
            .poll_period = opts.poll_period,
            .budget = o.wait,
            .wait = wait,
            .known = known(key),
            .request_timeout = opts.request_timeout,
            .data_action = o.data          ? data_change::replace
                           : o.remove_data ? data_change::remove
                                           : data_change::keep,
            .data = o.data.value_or(bytes{}),
            .extra = std::move(o.extra),
            .require_existing = o.require_existing,
            .consistent_released = o.consistent_released,
        };
        lock::acquire_machine machine(std::move(params), lock::new_record_version);
        asio::steady_timer timer(ex);
        lock::acquire_action action = machine.start(clock::now());
        for (;;) {
            if (!action.done() && co_await detail::cancelled()) {
                co_return std::tuple{make_error_code(asio::error::operation_aborted), lease{}};
            }
            switch (action.type) {
                case lock::acquire_action::kind::write: {
                    auto op = st.async_write(std::move(action.write), action.until, as_tuple);
                    auto [ec, r] = co_await std::move(op);
                    if (ec == asio::error::operation_aborted) {
                        co_return std::tuple{ec, lease{}};
                    }
                    count_throttled(ec, key);
                    action = machine.on_write(clock::now(), ec, r);
                    break;
                }
                case lock::acquire_action::kind::read: {
                    auto op = st.async_read(action.write.key, action.until, as_tuple);
                    auto [ec, r] = co_await std::move(op);
                    if (ec == asio::error::operation_aborted) {
                        co_return std::tuple{ec, lease{}};
                    }
                    count_throttled(ec, key);
                    action = machine.on_read(clock::now(), ec, r);
                    break;
                }
                case lock::acquire_action::kind::wait: {
                    if (closed) {
                        co_return std::tuple{make_error_code(errc::client_closed), lease{}};
                    }
                    timer.expires_at(action.until);
                    struct registered {  // so that close() can end the wait
                        std::set<asio::steady_timer*>& timers;
                        asio::steady_timer& timer;
                        ~registered() { timers.erase(&timer); }
                    } in_set{acquire_timers, timer};
                    acquire_timers.insert(&timer);
                    auto [ec] = co_await timer.async_wait(as_tuple);
                    if (closed) {
                        co_return std::tuple{make_error_code(errc::client_closed), lease{}};
                    }
                    if (ec) {
                        co_return std::tuple{ec, lease{}};  // cancelled by the caller
                    }
                    action = machine.on_wake(clock::now());
                    break;
                }
                case lock::acquire_action::kind::granted: {
                    forget(key);
                    auto state = start_lease(std::move(action.record), action.sent_at);
                    if (closed) {
                        // close() began while we were granted: hand nothing out.
                        state->closing = true;
                        state->machine.request_release();
                        wake(*state);
                        co_return std::tuple{make_error_code(errc::client_closed), lease{}};
                    }
                    co_return std::tuple{error_code{}, lease(std::move(state))};
                }
                case lock::acquire_action::kind::not_granted:
                    if (machine.observed()) {
                        remember(key, *machine.observed());
                    }
                    if (!action.record.owner.empty()) {
                        diag.message = "held by " + action.record.owner;
                    }
                    co_return std::tuple{action.ec, lease{}};
                case lock::acquire_action::kind::failed:
                    if (!action.message.empty()) {
                        diag.message = std::move(action.message);
                    }
                    co_return std::tuple{action.ec, lease{}};
            }
        }
    }

    // --- acquiring a set -----------------------------------------------------

    struct many_run {
        explicit many_run(asio::any_io_executor ex, std::size_t workers)
            : done(std::move(ex)), stop(workers) {}
        std::size_t next = 0;
        std::size_t running = 0;
        acquire_many_result result;
        asio::steady_timer done;  // cancelled when the last worker ends
        std::vector<asio::cancellation_signal> stop;
    };

    asio::awaitable<std::tuple<error_code, acquire_many_result>> acquire_many(
        std::vector<lock_key> keys, acquire_many_options o) {
        auto self = shared_from_this();
        if (o.concurrency == 0) {
            co_return std::tuple{make_error_code(errc::invalid_argument), acquire_many_result{}};
        }
        {
            std::vector<const lock_key*> sorted;
            for (const auto& k : keys) {
                sorted.push_back(&k);
            }
            std::sort(sorted.begin(), sorted.end(), [](auto* a, auto* b) { return *a < *b; });
            if (std::adjacent_find(sorted.begin(), sorted.end(),
                                   [](auto* a, auto* b) { return *a == *b; }) != sorted.end()) {
                co_return std::tuple{make_error_code(errc::invalid_argument),
                                     acquire_many_result{}};
            }
        }
        const std::size_t workers = std::min(o.concurrency, keys.size());
        auto run = std::make_shared<many_run>(ex, workers);
        for (std::size_t i = 0; i < workers; ++i) {
            ++run->running;
            asio::co_spawn(
                ex, acquire_many_worker(run, keys, o),
                asio::bind_cancellation_slot(run->stop[i].slot(), [run](std::exception_ptr) {
                    if (--run->running == 0) {
                        run->done.cancel();
                    }
                }));
        }
        bool cancelled = false;
        while (run->running > 0) {
            run->done.expires_at(clock::time_point::max());
            auto wait = run->done.async_wait(as_tuple);
            co_await std::move(wait);
            if (run->running > 0 && !cancelled && co_await detail::cancelled()) {
                cancelled = true;
                for (auto& s : run->stop) {
                    s.emit(asio::cancellation_type::terminal);
                }
            }
        }
        for (std::size_t i = run->next; i < keys.size(); ++i) {
            run->result.refused.push_back(
                {std::move(keys[i]), make_error_code(asio::error::operation_aborted), {}});
        }
        const error_code ec = cancelled ? make_error_code(asio::error::operation_aborted)
                              : closed  ? make_error_code(errc::client_closed)
                                        : error_code{};
        co_return std::tuple{ec, std::move(run->result)};
    }

    // Takes the next untried key until none is left or it is stopped.
    asio::awaitable<void> acquire_many_worker(std::shared_ptr<many_run> run,
                                              const std::vector<lock_key>& keys,
                                              const acquire_many_options& o) {
        co_await asio::this_coro::throw_if_cancelled(false);
        while (run->next < keys.size() && !co_await detail::cancelled()) {
            const lock_key& key = keys[run->next++];
            diagnostics diag;
            acquire_options each = o.each;
            each.diagnostics = &diag;
            auto op = acquire(key, std::move(each), o.wait);
            auto [ec, l] = co_await std::move(op);
            if (ec) {
                run->result.refused.push_back({key, ec, std::move(diag.message)});
            } else {
                run->result.granted.push_back(std::move(l));
            }
        }
    }

    // --- holding ------------------------------------------------------------

    std::shared_ptr<detail::lease_state> start_lease(lock_record granted,
                                                     clock::time_point sent_at) {
        const lock_key key = granted.key;
        auto state = std::make_shared<detail::lease_state>(
            ex, weak_from_this(), lock::lease_machine(lease_params, std::move(granted), sent_at));
        held[key] = state;
        ++acquired;
        scheduler.add(*state, clock::now());
        drive();
        return state;
    }

    static std::shared_ptr<detail::lease_state> state_of(lock::scheduled_lease* l) {
        return static_cast<detail::lease_state*>(l)->shared_from_this();
    }

    // Performs every step due now, then sleeps until the next one.
    void drive() {
        const auto now = clock::now();
        while (lock::lease_step step = scheduler.poll(now)) {
            perform(std::move(step));
        }
        arm_timer();
    }

    void arm_timer() {
        const auto next = scheduler.next_wake();
        if (!next || (timer_armed && *next >= timer_at)) {
            return;  // an earlier wake-up is harmless: drive() finds nothing due
        }
        timer_armed = true;
        timer_at = *next;
        wake_timer.expires_at(*next);  // a wait already pending ends, stale
        wake_timer.async_wait(
            [self = shared_from_this(), generation = ++timer_generation](error_code) {
                if (generation == self->timer_generation) {
                    self->timer_armed = false;
                    self->drive();
                }
            });
    }

    void perform(lock::lease_step step) {
        auto s = state_of(step.lease);
        auto& a = step.action;
        switch (a.type) {
            case lock::lease_action::kind::write: {
                if (a.write.kind == write_kind::refresh) {
                    ++s->heartbeats_started;
                }
                st.async_write(std::move(a.write), a.until,
                               [self = shared_from_this(), s](error_code ec, write_result r) {
                                   self->completed(
                                       *s, ec, self->scheduler.on_write(*s, clock::now(), ec, r));
                               });
                break;
            }
            case lock::lease_action::kind::read:
                st.async_read(
                    a.write.key, a.until,
                    [self = shared_from_this(), s](error_code ec, std::optional<lock_record> r) {
                        self->completed(*s, ec, self->scheduler.on_read(*s, clock::now(), ec, r));
                    });
                break;
            case lock::lease_action::kind::danger:
                if (opts.on_danger) {
                    opts.on_danger(lease(s));
                }
                break;
            case lock::lease_action::kind::wait:
                break;  // the scheduler keeps waits to itself
            case lock::lease_action::kind::ended:
                finish(*s, a.reason);
                break;
        }
    }

    // A lease's request completed and the scheduler answered with the
    // lease's next step; a freed slot may let others go.
    void completed(detail::lease_state& s, error_code ec, lock::lease_step step) {
        report_throttled(ec, s.machine.record().key);
        if (step.renewed && !s.heartbeat_waiters.empty()) {
            complete_heartbeats(s, s.heartbeats_started);
        }
        if (step) {
            perform(std::move(step));
        }
        drive();
    }

    void wake(detail::lease_state& s) {
        scheduler.wake(s, clock::now());
        drive();
    }

    void complete_heartbeats(detail::lease_state& s, std::uint64_t done_upto) {
        auto& waiters = s.heartbeat_waiters;
        for (auto it = waiters.begin(); it != waiters.end();) {
            if (it->needed <= done_upto) {
                complete_later(ex, std::move(it->handler), error_code{});
                it = waiters.erase(it);
            } else {
                ++it;
            }
        }
    }

    void finish(detail::lease_state& s, loss_reason reason) {
        if (reason == loss_reason::released && s.closing) {
            reason = loss_reason::client_closed;
        }
        s.final_reason = reason;
        for (auto* signal : s.bound_work) {
            signal->emit(asio::cancellation_type::terminal);
        }
        for (auto& h : std::exchange(s.lost_waiters, {})) {
            complete_later(ex, std::move(h), error_code{}, reason);
        }
        const bool released =
            reason == loss_reason::released || reason == loss_reason::client_closed;
        for (auto& h : std::exchange(s.release_waiters, {})) {
            complete_later(ex, std::move(h),
                           released ? error_code{} : make_error_code(errc::lease_lost));
        }
        for (auto& w : std::exchange(s.heartbeat_waiters, {})) {
            complete_later(ex, std::move(w.handler), make_error_code(errc::lease_lost));
        }
        if (auto it = held.find(s.machine.record().key);
            it != held.end() && it->second.get() == &s) {
            held.erase(it);
        }
        maybe_finish_close();
    }

    void release(std::shared_ptr<detail::lease_state> s, std::optional<bytes> data,
                 asio::any_completion_handler<void(error_code)> h) {
        if (s->final_reason != loss_reason::none) {
            const bool released = s->final_reason == loss_reason::released ||
                                  s->final_reason == loss_reason::client_closed;
            complete_later(ex, std::move(h),
                           released ? error_code{} : make_error_code(errc::lease_lost));
            return;
        }
        s->release_waiters.push_back(std::move(h));
        s->machine.request_release(std::move(data));
        wake(*s);
    }

    // Throttled acquire requests count here; lease requests in the scheduler.
    void count_throttled(error_code ec, const lock_key& key) {
        if (ec == errc::throttled) {
            ++acquires_throttled;
        }
        report_throttled(ec, key);
    }

    void report_throttled(error_code ec, const lock_key& key) const {
        if (ec == errc::throttled && opts.on_throttled) {
            opts.on_throttled(key);
        }
    }

    lock_client_stats stats() const {
        lock_client_stats r = scheduler.counters();
        r.held = held.size();
        r.acquired = acquired;
        r.throttled += acquires_throttled;
        return r;
    }

    // --- closing ------------------------------------------------------------

    void close(asio::any_completion_handler<void(error_code)> h) {
        closed = true;
        close_waiters.push_back(std::move(h));
        for (auto* t : acquire_timers) {
            t->cancel();
        }
        const auto now = clock::now();
        for (auto& [key, s] : held) {
            s->closing = true;
            s->machine.request_release();
            scheduler.wake(*s, now);
        }
        drive();
        maybe_finish_close();
    }

    void maybe_finish_close() {
        if (!closed || acquires_in_flight != 0 || !held.empty()) {
            return;
        }
        for (auto& h : std::exchange(close_waiters, {})) {
            complete_later(ex, std::move(h), error_code{});
        }
    }
};

void detail::lease_state::wake() {
    if (auto c = client.lock()) {
        c->wake(*this);
    }
}

// --- lease ------------------------------------------------------------------

namespace {
const lock_record& empty_record() {
    static const lock_record r;
    return r;
}
const lock_record& record_of(const std::shared_ptr<detail::lease_state>& s) {
    return s ? s->machine.record() : empty_record();
}
}  // namespace

const lock_key& lease::key() const {
    return record_of(state_).key;
}
const std::string& lease::owner() const {
    return record_of(state_).owner;
}
std::uint64_t lease::fence() const {
    return record_of(state_).fence.value_or(0);
}
const std::string& lease::record_version() const {
    return record_of(state_).record_version;
}
std::chrono::milliseconds lease::duration() const {
    return record_of(state_).lease;
}
const std::optional<bytes>& lease::data() const {
    return record_of(state_).data;
}

lease::clock::duration lease::remaining() const {
    if (!state_ || state_->final_reason != loss_reason::none) {
        return clock::duration::zero();
    }
    return state_->machine.deadline() - clock::now();
}

lease::clock::time_point lease::acquired_at() const {
    return state_ ? state_->machine.acquired_at() : clock::time_point{};
}

lease::clock::time_point lease::deadline() const {
    return state_ ? state_->machine.deadline() : clock::time_point{};
}

bool lease::held() const {
    return remaining() > clock::duration::zero();
}

loss_reason lease::reason() const {
    if (!state_) {
        return loss_reason::none;
    }
    return state_->final_reason;
}

void lease::start_wait_lost(asio::any_completion_handler<void(error_code, loss_reason)> h) {
    if (!state_) {
        throw std::system_error(make_error_code(errc::invalid_argument),
                                "lease::async_wait_lost on an empty lease");
    }
    if (state_->final_reason != loss_reason::none) {
        complete_later(state_->ex, std::move(h), error_code{}, state_->final_reason);
        return;
    }
    auto slot = asio::get_associated_cancellation_slot(h);
    state_->lost_waiters.push_back(std::move(h));
    if (slot.is_connected()) {
        slot.assign([s = std::weak_ptr(state_),
                     waiter = &state_->lost_waiters.back()](asio::cancellation_type) {
            auto state = s.lock();
            if (!state) {
                return;
            }
            auto& ws = state->lost_waiters;
            for (auto it = ws.begin(); it != ws.end(); ++it) {
                if (&*it == waiter) {
                    auto h = std::move(*it);
                    ws.erase(it);
                    complete_later(state->ex, std::move(h),
                                   make_error_code(asio::error::operation_aborted),
                                   loss_reason::none);
                    return;
                }
            }
        });
    }
}

void lease::start_heartbeat(std::optional<std::chrono::milliseconds> new_lease,
                            std::optional<bytes> data,
                            asio::any_completion_handler<void(error_code)> h) {
    if (!state_) {
        throw std::system_error(make_error_code(errc::invalid_argument),
                                "lease::async_heartbeat on an empty lease");
    }
    if (state_->final_reason != loss_reason::none) {
        complete_later(state_->ex, std::move(h), make_error_code(errc::lease_lost));
        return;
    }
    state_->heartbeat_waiters.push_back({state_->heartbeats_started + 1, std::move(h)});
    state_->machine.request_heartbeat(new_lease, std::move(data));
    state_->wake();
}

// --- lock_client ------------------------------------------------------------

lock_client::lock_client(store& s, lock_client_options options)
    : impl_(std::make_shared<impl>(s, std::move(options))) {}

lock_client::~lock_client() {
    if (impl_ && !impl_->closed) {
        // Nobody can wait for it any more, but the leases still get released.
        impl_->close(asio::any_completion_handler<void(error_code)>([](error_code) {}));
    }
}

lock_client::executor_type lock_client::get_executor() const {
    return impl_->ex;
}
const lock_client_options& lock_client::options() const noexcept {
    return impl_->opts;
}

lock_client_stats lock_client::stats() const {
    return impl_->stats();
}

void lock_client::start_acquire(lock_key key, acquire_options opts, bool wait,
                                asio::any_completion_handler<void(error_code, lease)> h) {
    detail::spawn_op(impl_->ex, impl_->acquire(std::move(key), std::move(opts), wait),
                     std::move(h));
}

void lock_client::start_acquire_many(
    std::vector<lock_key> keys, acquire_many_options opts,
    asio::any_completion_handler<void(error_code, acquire_many_result)> h) {
    detail::spawn_op(impl_->ex, impl_->acquire_many(std::move(keys), std::move(opts)),
                     std::move(h));
}

void lock_client::start_release(lease l, std::optional<bytes> data,
                                asio::any_completion_handler<void(error_code)> h) {
    if (!l.state_) {
        complete_later(impl_->ex, std::move(h), make_error_code(errc::invalid_argument));
        return;
    }
    impl_->release(l.state_, std::move(data), std::move(h));
}

void lock_client::start_get(
    lock_key key, asio::any_completion_handler<void(error_code, std::optional<lock_record>)> h) {
    auto op =
        [](std::shared_ptr<impl> self,
           lock_key key) -> asio::awaitable<std::tuple<error_code, std::optional<lock_record>>> {
        auto read = self->st.async_read(std::move(key), clock::now() + self->opts.request_timeout,
                                        as_tuple);
        auto [ec, r] = co_await std::move(read);
        co_return std::tuple{ec, std::move(r)};
    };
    detail::spawn_op(impl_->ex, op(impl_, std::move(key)), std::move(h));
}

void lock_client::start_list(
    std::optional<std::string> partition,
    asio::any_completion_handler<void(error_code, std::vector<lock_record>)> h) {
    auto op = [](std::shared_ptr<impl> self, std::optional<std::string> partition)
        -> asio::awaitable<std::tuple<error_code, std::vector<lock_record>>> {
        std::vector<lock_record> all;
        std::optional<lock_key> after;
        do {
            if (co_await detail::cancelled()) {
                co_return std::tuple{make_error_code(asio::error::operation_aborted),
                                     std::move(all)};
            }
            auto list = self->st.async_list(partition, after,
                                            clock::now() + self->opts.request_timeout, as_tuple);
            auto [ec, page] = co_await std::move(list);
            if (ec) {
                co_return std::tuple{ec, std::move(all)};
            }
            for (auto& r : page.records) {
                all.push_back(std::move(r));
            }
            after = std::move(page.next);
        } while (after);
        co_return std::tuple{error_code{}, std::move(all)};
    };
    detail::spawn_op(impl_->ex, op(impl_, std::move(partition)), std::move(h));
}

void lock_client::start_close(asio::any_completion_handler<void(error_code)> h) {
    impl_->close(std::move(h));
}

asio::awaitable<error_code> lock_client::run_with_lease(lease l, asio::awaitable<void> work) {
    auto self = impl_;
    auto s = l.state_;
    if (!s || s->final_reason != loss_reason::none) {
        co_return make_error_code(errc::lease_lost);
    }
    asio::cancellation_signal on_end;
    s->bound_work.push_back(&on_end);
    auto run = asio::co_spawn(
        self->ex, std::move(work),
        asio::bind_cancellation_slot(on_end.slot(), asio::as_tuple(asio::use_awaitable)));
    auto [failure] = co_await std::move(run);
    std::erase(s->bound_work, &on_end);
    if (s->final_reason != loss_reason::none) {
        // The lease ended while the work ran: it was not exclusive throughout.
        co_return make_error_code(errc::lease_lost);
    }
    auto release = asio::async_initiate<decltype(as_tuple), void(error_code)>(
        [self, s](auto handler) { self->release(s, std::nullopt, std::move(handler)); }, as_tuple);
    auto [released] = co_await std::move(release);
    if (failure) {
        std::rethrow_exception(failure);
    }
    co_return released;
}

}  // namespace dynalock
