// Acquiring: one coroutine per acquire performs what acquire_machine decides,
// and a grant becomes a lease of the lease driver (lease_driver.cpp), which
// holds it. Also here: the operations that only read (get, list), work bound
// to a lease, closing, and what destroying the client does.

#include <dynalock/lock_client.hpp>

#include "lock/acquire_machine.hpp"
#include "lock/counting_store.hpp"
#include "lock/lease_driver.hpp"
#include "lock/lock_item.hpp"
#include "lock/observation_cache.hpp"
#include "lock/session_end.hpp"
#include "spawn_op.hpp"

#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <deque>
#include <set>
#include <system_error>

namespace dynalock {

namespace asio = boost::asio;
using detail::complete_later;
using std::chrono::milliseconds;

namespace {

constexpr auto as_tuple = asio::as_tuple(asio::deferred);

std::string default_owner() {
    std::array<char, 256> host{};
    if (::gethostname(host.data(), host.size() - 1) != 0 || host[0] == '\0') {
        return "dynalock-" + lock::random_hex(4);
    }
    return std::string(host.data()) + "-" + lock::random_hex(4);
}

lock_client_options validated(lock_client_options o) {
    if (auto problem = o.validate()) {
        throw std::system_error(make_error_code(errc::invalid_argument),
                                "lock_client_options: " + *problem);
    }
    if (o.owner.empty()) {
        o.owner = default_owner();
    }
    return o;
}

// The exception a work bound to a lease throws when it was cancelled.
bool is_cancellation(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& x) {
        return x.code() == asio::error::operation_aborted;
    } catch (...) {
        return false;
    }
}

}  // namespace

struct lock_client::impl : std::enable_shared_from_this<impl> {
    impl(store& s, lock_client_options o, std::shared_ptr<detail::time_source> t)
        : counted(s),
          st(counted),
          opts(validated(std::move(o))),
          ex(s.get_executor()),
          time(std::move(t)),
          observations(opts.observation_cache_size) {}

    detail::counting_store counted;
    store& st;
    const lock_client_options opts;
    asio::any_io_executor ex;
    std::shared_ptr<detail::time_source> time;
    std::shared_ptr<detail::lease_driver> driver;  // set right after construction
    lock::observation_cache observations;
    std::uint64_t acquired = 0;
    std::uint64_t sessions_opened = 0;
    std::uint64_t acquires_throttled = 0;
    std::uint64_t session_kills = 0;
    bool closed = false;
    bool abandoned = false;  // destroyed without async_close: nothing more is sent
    std::size_t acquires_in_flight = 0;
    std::set<detail::timer*> acquire_timers;  // so that close() ends their waits
    std::vector<asio::any_completion_handler<void(error_code)>> close_waiters;

    // What contenders saw of holders' sessions, shared by every acquire of
    // this client: a thousand locks of one session cost one read of it per
    // poll period, and all see its version stand still from the same moment.
    struct session_watch {
        std::optional<lock_record> record;
        error_code ec;
        detail::steady_clock::time_point read_at{};  // when the last read returned
        detail::steady_clock::time_point since{};    // record's version first seen
        // Set while a read is out: others wait for it (cancelled when done).
        std::shared_ptr<asio::steady_timer> reading;
    };
    std::map<lock_key, session_watch> session_watches;
    // Sessions found ended, newest last: grants name them, so that a lock
    // held under one is taken in one write, as a free one (a dead worker's
    // thousand locks after one session kill).
    std::deque<session_ref> ended_sessions;

    session default_session;
    std::shared_ptr<asio::steady_timer> opening_default;  // while one is being opened

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
                                                           bool wait, bool session_item = false) {
        co_await detail::no_throw_on_cancel;
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
        if (auto held = driver->find(key); held && o.reentrant) {
            co_return std::tuple{error_code{}, lease(std::move(held))};
        }
        std::shared_ptr<detail::lease_state> bound;
        if (!session_item && (!o.session.empty() || opts.default_session)) {
            session s = o.session;
            if (s.empty()) {
                auto [ec, d] = co_await get_default_session();
                if (ec) {
                    co_return std::tuple{ec, lease{}};
                }
                s = std::move(d);
            }
            bound = s.lease_.state_;
            if (bound->driver.lock() != driver) {
                diag.message = "acquire_options::session is another client's";
                co_return std::tuple{make_error_code(errc::invalid_argument), lease{}};
            }
            if (bound->final_reason != loss_reason::none || bound->releasing()) {
                diag.message = "the session " + lock::describe_lock(s.key()) + " has ended (" +
                               std::string(bound->final_reason != loss_reason::none
                                               ? to_string(bound->final_reason)
                                               : "being closed") +
                               ")";
                co_return std::tuple{make_error_code(errc::lease_lost), lease{}};
            }
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
        co_return co_await acquire_loop(key, o, wait, diag, std::move(bound), session_item);
    }

    asio::awaitable<std::tuple<error_code, lease>> acquire_loop(
        const lock_key& key, acquire_options& o, bool wait, diagnostics& diag,
        std::shared_ptr<detail::lease_state> bound, bool session_item) {
        lock::acquire_params params{
            .key = key,
            .owner = opts.owner,
            .lease = opts.lease,
            .poll_period = opts.poll_period,
            .budget = o.wait,
            .wait = wait,
            .known = observations.find(key),
            .request_timeout = opts.request_timeout,
            .data_action = o.data          ? data_change::replace
                           : o.remove_data ? data_change::remove
                                           : data_change::keep,
            .data = o.data.value_or(bytes{}),
            .extra = std::move(o.extra),
            .require_existing = o.require_existing,
            .consistent_released = o.consistent_released,
            .session = bound ? std::optional(session_ref{bound->machine.record().key,
                                                         bound->machine.record().fence.value_or(0)})
                             : std::nullopt,
            .session_item = session_item,
            .ended_sessions = {ended_sessions.begin(), ended_sessions.end()},
        };
        lock::acquire_machine machine(std::move(params), lock::new_record_version);
        const std::unique_ptr<detail::timer> timer = time->make_timer(ex);
        lock::acquire_action action = machine.start(time->now());
        for (;;) {
            if (!action.done() && detail::cancelled(co_await asio::this_coro::cancellation_state)) {
                co_return std::tuple{make_error_code(asio::error::operation_aborted), lease{}};
            }
            switch (action.type) {
                case lock::acquire_action::kind::write: {
                    // A write of another item ends the holder's session.
                    const std::optional<lock_key> killing =
                        action.write.key != key ? std::optional(action.write.key) : std::nullopt;
                    auto [ec, r] = co_await within_bound<write_result>(action.until, [&] {
                        return st.async_write(std::move(action.write), action.until, as_tuple);
                    });
                    if (ec == asio::error::operation_aborted) {
                        co_return std::tuple{ec, lease{}};
                    }
                    count_throttled(ec, key);
                    if (killing && !ec) {
                        ++session_kills;
                        session_ended(*killing);
                        if (driver->events()) {
                            driver->events().raise(
                                {.kind = lock_event_kind::session_killed, .key = *killing});
                        }
                    }
                    action = machine.on_write(time->now(), ec, r);
                    note_ended(machine);
                    break;
                }
                case lock::acquire_action::kind::read_session: {
                    auto [ec, view] =
                        co_await view_session(action.write.key, action.fresh, action.until);
                    if (ec == asio::error::operation_aborted) {
                        co_return std::tuple{ec, lease{}};
                    }
                    count_throttled(ec, key);
                    action = machine.on_session(time->now(), ec, view);
                    note_ended(machine);
                    break;
                }
                case lock::acquire_action::kind::read: {
                    auto [ec, r] = co_await within_bound<std::optional<lock_record>>(
                        action.until,
                        [&] { return st.async_read(action.write.key, action.until, as_tuple); });
                    if (ec == asio::error::operation_aborted) {
                        co_return std::tuple{ec, lease{}};
                    }
                    count_throttled(ec, key);
                    action = machine.on_read(time->now(), ec, r);
                    break;
                }
                case lock::acquire_action::kind::wait: {
                    if (closed) {
                        co_return std::tuple{make_error_code(errc::client_closed), lease{}};
                    }
                    acquire_timers.insert(timer.get());
                    auto [ec] = co_await timer->async_wait_until(action.until, as_tuple);
                    acquire_timers.erase(timer.get());
                    if (closed) {
                        co_return std::tuple{make_error_code(errc::client_closed), lease{}};
                    }
                    if (ec) {
                        co_return std::tuple{ec, lease{}};  // cancelled by the caller
                    }
                    action = machine.on_wake(time->now());
                    break;
                }
                case lock::acquire_action::kind::granted: {
                    observations.forget(key);
                    if (abandoned) {
                        // Nobody heartbeats it: the item expires after its lease.
                        co_return std::tuple{make_error_code(errc::client_closed), lease{}};
                    }
                    std::shared_ptr<detail::lease_state> state;
                    if (bound) {
                        state =
                            driver->start_bound(std::move(action.record), action.sent_at, bound);
                        if (!state) {
                            // Nobody believes a lock whose session has ended:
                            // it is free for others as it is.
                            diag.message = lock::describe_lock(key) +
                                           " was granted under a session that ended (or passed "
                                           "its deadline) before the grant came back";
                            co_return std::tuple{make_error_code(errc::lease_lost), lease{}};
                        }
                    } else if (session_item) {
                        state = driver->start_session(std::move(action.record), action.sent_at);
                    } else {
                        state = driver->start(std::move(action.record), action.sent_at);
                    }
                    ++(session_item ? sessions_opened : acquired);
                    // Before a release by close(), so that every end has its start.
                    if (driver->events()) {
                        driver->events().raise(
                            {.kind = session_item ? lock_event_kind::session_opened
                                                  : lock_event_kind::acquired,
                             .key = key,
                             .fence = state->machine.record().fence.value_or(0)});
                    }
                    if (closed) {
                        // close() began while we were granted: hand nothing out.
                        state->closing = true;
                        driver->release(state, std::nullopt, [](error_code) {});
                        co_return std::tuple{make_error_code(errc::client_closed), lease{}};
                    }
                    co_return std::tuple{error_code{}, lease(std::move(state))};
                }
                case lock::acquire_action::kind::not_granted:
                    if (machine.observed()) {
                        observations.remember(key, *machine.observed());
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

    // --- sessions -------------------------------------------------------------

    // The holder's session `key` as seen lately: a read within the last poll
    // period serves every acquire (unless `fresh`), a read out serves those
    // that wait for it.
    asio::awaitable<std::tuple<error_code, lock::session_view>> view_session(
        lock_key key, bool fresh, detail::steady_clock::time_point until) {
        for (;;) {
            auto it = session_watches.find(key);
            if (it != session_watches.end() && it->second.reading) {
                auto reading = it->second.reading;
                co_await reading->async_wait(as_tuple);
                if (detail::cancelled(co_await asio::this_coro::cancellation_state)) {
                    co_return std::tuple{make_error_code(asio::error::operation_aborted),
                                         lock::session_view{}};
                }
                continue;
            }
            const auto now = time->now();
            if (it != session_watches.end() && !fresh && !it->second.ec &&
                now - it->second.read_at < opts.poll_period) {
                co_return std::tuple{error_code{},
                                     lock::session_view{it->second.record, it->second.since}};
            }
            if (it == session_watches.end()) {
                forget_old_session_watches();
                it = session_watches.emplace(key, session_watch{}).first;
            }
            auto reading =
                std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
            it->second.reading = reading;
            auto [ec, r] = co_await st.async_read(key, until, as_tuple);
            reading->cancel();
            session_watch& w = session_watches[key];
            w.reading.reset();
            w.ec = ec == errc::malformed_item ? error_code{} : ec;
            if (!w.ec) {
                const auto seen = time->now();
                if (!r || !w.record || w.record->record_version != r->record_version) {
                    w.since = seen;
                }
                w.record = std::move(r);
                w.read_at = seen;
            }
            co_return std::tuple{ec, lock::session_view{w.record, w.since}};
        }
    }

    void note_ended(const lock::acquire_machine& m) {
        if (const auto& ended = m.ended_session()) {
            remember_ended(*ended);
        }
    }

    void remember_ended(const session_ref& ended) {
        if (std::find(ended_sessions.begin(), ended_sessions.end(), ended) !=
            ended_sessions.end()) {
            return;
        }
        ended_sessions.push_back(ended);
        if (ended_sessions.size() > lock::max_ended_sessions) {
            ended_sessions.pop_front();
        }
    }

    // A contender ended session `key`: every acquire may take its locks now.
    void session_ended(const lock_key& key) {
        session_watch& w = session_watches[key];
        if (w.record) {
            w.record->released = true;
        }
        w.read_at = time->now();
    }

    void forget_old_session_watches() {
        if (session_watches.size() < std::max<std::size_t>(opts.observation_cache_size, 1)) {
            return;
        }
        auto oldest = session_watches.end();
        for (auto it = session_watches.begin(); it != session_watches.end(); ++it) {
            if (!it->second.reading &&
                (oldest == session_watches.end() || it->second.read_at < oldest->second.read_at)) {
                oldest = it;
            }
        }
        if (oldest != session_watches.end()) {
            session_watches.erase(oldest);
        }
    }

    asio::awaitable<std::tuple<error_code, session>> open_session(session_options so) {
        co_await detail::no_throw_on_cancel;
        auto self = shared_from_this();
        lock_key key{so.prefix + lock::random_hex(16), so.sort};
        auto [ec, l] = co_await acquire(std::move(key), acquire_options{}, false, true);
        co_return std::tuple{ec, ec ? session{} : session(std::move(l))};
    }

    // The default session, opened when there is none held; one opening
    // serves every acquire that needs it meanwhile.
    asio::awaitable<std::tuple<error_code, session>> get_default_session() {
        for (;;) {
            if (!default_session.empty() && default_session.held()) {
                co_return std::tuple{error_code{}, default_session};
            }
            if (opening_default) {
                auto opening = opening_default;
                co_await opening->async_wait(as_tuple);
                if (detail::cancelled(co_await asio::this_coro::cancellation_state)) {
                    co_return std::tuple{make_error_code(asio::error::operation_aborted),
                                         session{}};
                }
                continue;
            }
            opening_default =
                std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
            auto [ec, s] = co_await open_session(opts.default_session_options);
            std::exchange(opening_default, nullptr)->cancel();
            if (ec) {
                co_return std::tuple{ec, session{}};
            }
            default_session = std::move(s);
        }
    }

    // One request of an acquire (`start()` begins it), sent within
    // max_in_flight and after every lease due (lease_driver::admit); with
    // errc::timeout at `until` when no slot came, and nothing was sent.
    template <class Result, class Start>
    asio::awaitable<std::tuple<error_code, Result>> within_bound(
        detail::steady_clock::time_point until, Start start) {
        if (!driver->try_admit()) {
            auto [ec] = co_await asio::async_initiate<decltype(as_tuple), void(error_code)>(
                [this, until](auto h) { driver->admit(until, std::move(h)); }, as_tuple);
            if (ec) {
                co_return std::tuple{ec, Result{}};
            }
        }
        auto [ec, result] = co_await start();
        driver->admitted_done(ec);
        co_return std::tuple{ec, std::move(result)};
    }

    // Throttled acquire requests count here; lease requests in the driver.
    void count_throttled(error_code ec, const lock_key& key) {
        if (ec == errc::throttled) {
            ++acquires_throttled;
        }
        driver->report_throttled(ec, key);
    }

    // --- acquiring a set -----------------------------------------------------

    struct many_run {
        explicit many_run(asio::any_io_executor ex, std::size_t workers)
            : done(std::move(ex)), stop(workers) {}
        std::size_t next = 0;
        std::size_t running = 0;
        acquire_many_result result;
        asio::steady_timer done;  // cancelled when the last worker ends; never expires
        std::vector<asio::cancellation_signal> stop;
    };

    asio::awaitable<std::tuple<error_code, acquire_many_result>> acquire_many(
        std::vector<lock_key> keys, acquire_many_options o) {
        co_await detail::no_throw_on_cancel;
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
            run->done.expires_at(asio::steady_timer::time_point::max());
            co_await run->done.async_wait(as_tuple);
            if (run->running > 0 && !cancelled &&
                detail::cancelled(co_await asio::this_coro::cancellation_state)) {
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
        // A lease granted early can end while the other keys are still being
        // tried (its session closed or lost): the caller gets it as refused,
        // as async_acquire answers a grant whose session ended before it came
        // back, so that what it starts for each granted lease starts only on
        // held ones. (The torture test found this: a session closed while
        // acquire_many waited for another key, and its locks, already taken
        // by others, were handed over as granted.)
        std::erase_if(run->result.granted, [&](const lease& l) {
            if (l.held()) {
                return false;
            }
            run->result.refused.push_back({l.key(), make_error_code(errc::lease_lost),
                                           "granted, then lost (" +
                                               std::string(to_string(l.reason())) +
                                               ") before the other keys were done"});
            return true;
        });
        const error_code ec = cancelled ? make_error_code(asio::error::operation_aborted)
                              : closed  ? make_error_code(errc::client_closed)
                                        : error_code{};
        co_return std::tuple{ec, std::move(run->result)};
    }

    // Takes the next untried key until none is left or it is stopped.
    asio::awaitable<void> acquire_many_worker(std::shared_ptr<many_run> run,
                                              const std::vector<lock_key>& keys,
                                              const acquire_many_options& o) {
        co_await detail::no_throw_on_cancel;
        while (run->next < keys.size() &&
               !detail::cancelled(co_await asio::this_coro::cancellation_state)) {
            const lock_key& key = keys[run->next++];
            diagnostics diag;
            acquire_options each = o.each;
            each.diagnostics = &diag;
            auto [ec, l] = co_await acquire(key, std::move(each), o.wait);
            if (ec) {
                run->result.refused.push_back({key, ec, std::move(diag.message)});
            } else {
                run->result.granted.push_back(std::move(l));
            }
        }
    }

    // --- reading ------------------------------------------------------------

    asio::awaitable<std::tuple<error_code, std::optional<lock_record>>> get(lock_key key) {
        co_await detail::no_throw_on_cancel;
        auto self = shared_from_this();
        auto [ec, r] =
            co_await st.async_read(std::move(key), time->now() + opts.request_timeout, as_tuple);
        co_return std::tuple{ec, std::move(r)};
    }

    asio::awaitable<std::tuple<error_code, session_status>> observe_session(session_ref s) {
        co_await detail::no_throw_on_cancel;
        auto self = shared_from_this();
        if (std::find(ended_sessions.begin(), ended_sessions.end(), s) != ended_sessions.end()) {
            co_return std::tuple{error_code{}, session_status::ended};
        }
        auto [ec, view] = co_await view_session(s.key, false, time->now() + opts.request_timeout);
        if (ec && ec != errc::malformed_item) {
            co_return std::tuple{ec, session_status::live};
        }
        if (lock::session_ended(view.record, s.epoch)) {
            // From a consistent read: grants may take its locks as free ones.
            remember_ended(s);
            co_return std::tuple{error_code{}, session_status::ended};
        }
        if (view.record->malformed) {
            co_return std::tuple{make_error_code(errc::malformed_item), session_status::live};
        }
        co_return std::tuple{error_code{}, time->now() - view.since >= view.record->lease
                                               ? session_status::stood_still
                                               : session_status::live};
    }

    asio::awaitable<std::tuple<error_code, std::vector<lock_record>>> list(
        std::optional<std::string> partition) {
        co_await detail::no_throw_on_cancel;
        auto self = shared_from_this();
        std::vector<lock_record> all;
        std::optional<lock_key> after;
        do {
            if (detail::cancelled(co_await asio::this_coro::cancellation_state)) {
                co_return std::tuple{make_error_code(asio::error::operation_aborted),
                                     std::move(all)};
            }
            auto [ec, page] = co_await st.async_list(partition, after,
                                                     time->now() + opts.request_timeout, as_tuple);
            if (ec) {
                co_return std::tuple{ec, std::move(all)};
            }
            std::move(page.records.begin(), page.records.end(), std::back_inserter(all));
            after = std::move(page.next);
        } while (after);
        co_return std::tuple{error_code{}, std::move(all)};
    }

    // --- work bound to a lease ----------------------------------------------

    asio::awaitable<error_code> with_lease(std::shared_ptr<detail::lease_state> s,
                                           asio::awaitable<void> work) {
        auto self = shared_from_this();
        // A cancelled caller still gets the lease released, after the work.
        co_await detail::no_throw_on_cancel;
        if (!s) {
            co_return make_error_code(errc::invalid_argument);
        }
        if (s->final_reason != loss_reason::none || s->releasing()) {
            co_return make_error_code(errc::lease_lost);
        }
        // The end of the lease and the caller's cancellation both reach the
        // work through one signal.
        asio::cancellation_signal stop_work;
        driver->bind(*s, stop_work);
        bool cancelled_by_caller = false;
        auto cs = co_await asio::this_coro::cancellation_state;
        auto caller = cs.slot();
        if (caller.is_connected()) {
            caller.assign([&](asio::cancellation_type type) {
                cancelled_by_caller = true;
                stop_work.emit(type);
            });
        }
        auto [failure] = co_await asio::co_spawn(
            ex, std::move(work),
            asio::bind_cancellation_slot(stop_work.slot(), asio::as_tuple(asio::use_awaitable)));
        if (caller.is_connected()) {
            caller.clear();
        }
        driver->unbind(*s, stop_work);
        if (s->final_reason != loss_reason::none || s->releasing()) {
            // The lease ended (or someone asked to release it, or its
            // session) while the work ran: it was not exclusive throughout.
            // The cancellation that caused is not the caller's business; any
            // other exception is.
            if (failure && !is_cancellation(failure)) {
                std::rethrow_exception(failure);
            }
            co_return make_error_code(errc::lease_lost);
        }
        auto [released] = co_await asio::async_initiate<decltype(as_tuple), void(error_code)>(
            [this, s](auto handler) { driver->release(s, std::nullopt, std::move(handler)); },
            as_tuple);
        if (failure && !(cancelled_by_caller && is_cancellation(failure))) {
            std::rethrow_exception(failure);
        }
        co_return cancelled_by_caller ? make_error_code(asio::error::operation_aborted) : released;
    }

    // --- closing ------------------------------------------------------------

    void close(asio::any_completion_handler<void(error_code)> h) {
        closed = true;
        close_waiters.push_back(std::move(h));
        for (auto* t : acquire_timers) {
            t->cancel();
        }
        driver->release_all();
        maybe_finish_close();
    }

    void abandon() {
        closed = true;
        abandoned = true;
        for (auto* t : acquire_timers) {
            t->cancel();
        }
        driver->abandon();
    }

    void maybe_finish_close() {
        if (!closed || acquires_in_flight != 0 || driver->held() != 0) {
            return;
        }
        for (auto& h : std::exchange(close_waiters, {})) {
            complete_later(ex, std::move(h), error_code{});
        }
    }

    lock_client_stats stats() const {
        lock_client_stats r = driver->counters();
        r.acquired = acquired;
        r.sessions_opened = sessions_opened;
        r.session_kills = session_kills;
        r.throttled += acquires_throttled;
        r.store_reads = counted.reads();
        r.store_writes = counted.writes();
        return r;
    }
};

// --- lock_client ------------------------------------------------------------

lock_client::lock_client(store& s, lock_client_options options)
    : lock_client(s, std::move(options), detail::steady_time()) {}

lock_client::lock_client(store& s, lock_client_options options,
                         std::shared_ptr<detail::time_source> time)
    : impl_(std::make_shared<impl>(s, std::move(options), std::move(time))) {
    impl_->driver = std::make_shared<detail::lease_driver>(impl_->st, impl_->opts, impl_->time,
                                                           [weak = std::weak_ptr(impl_)] {
                                                               if (auto self = weak.lock()) {
                                                                   self->maybe_finish_close();
                                                               }
                                                           });
}

lock_client::~lock_client() {
    if (impl_ && !impl_->abandoned) {
        impl_->abandon();
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
    detail::spawn_own_op(impl_->ex, impl_->acquire(std::move(key), std::move(opts), wait),
                         std::move(h));
}

void lock_client::start_acquire_many(
    std::vector<lock_key> keys, acquire_many_options opts,
    asio::any_completion_handler<void(error_code, acquire_many_result)> h) {
    detail::spawn_own_op(impl_->ex, impl_->acquire_many(std::move(keys), std::move(opts)),
                         std::move(h));
}

void lock_client::start_release(lease l, std::optional<bytes> data,
                                asio::any_completion_handler<void(error_code)> h) {
    if (!l.state_) {
        complete_later(impl_->ex, std::move(h), make_error_code(errc::invalid_argument));
        return;
    }
    impl_->driver->release(l.state_, std::move(data), std::move(h));
}

void lock_client::start_get(
    lock_key key, asio::any_completion_handler<void(error_code, std::optional<lock_record>)> h) {
    detail::spawn_own_op(impl_->ex, impl_->get(std::move(key)), std::move(h));
}

void lock_client::start_observe_session(
    session_ref s, asio::any_completion_handler<void(error_code, session_status)> h) {
    detail::spawn_own_op(impl_->ex, impl_->observe_session(std::move(s)), std::move(h));
}

void lock_client::start_list(
    std::optional<std::string> partition,
    asio::any_completion_handler<void(error_code, std::vector<lock_record>)> h) {
    detail::spawn_own_op(impl_->ex, impl_->list(std::move(partition)), std::move(h));
}

void lock_client::start_open_session(session_options opts,
                                     asio::any_completion_handler<void(error_code, session)> h) {
    detail::spawn_own_op(impl_->ex, impl_->open_session(std::move(opts)), std::move(h));
}

session lock_client::default_session() const {
    return impl_->default_session;
}

void lock_client::start_close(asio::any_completion_handler<void(error_code)> h) {
    impl_->close(std::move(h));
}

asio::awaitable<error_code> lock_client::run_with_lease(lease l, asio::awaitable<void> work) {
    return impl_->with_lease(std::move(l.state_), std::move(work));
}

}  // namespace dynalock
