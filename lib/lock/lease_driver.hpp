#pragma once

// Holding leases: the shell around lease_scheduler. It performs the steps
// that the scheduler and the lease machines decide (heartbeats, releases, the
// reads that resolve ambiguous writes) with callbacks on the store, keeps one
// timer for every lease of a client, and delivers the end of each lease to
// whoever waits for it or works under it. Its time comes from a time_source,
// so that tests script it.
//
// One concurrency style: callbacks on the store's executor, no coroutines.
// Acquiring is lock_client.cpp's (coroutines); a grant becomes a lease here.

#include "lock/event_sink.hpp"
#include "lock/lease_scheduler.hpp"
#include "lock/time_source.hpp"

#include <dynalock/lease.hpp>
#include <dynalock/lock_client.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/post.hpp>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

namespace dynalock::detail {

class lease_driver;

/// Completes `h` with `args` from the executor's queue, never inline: a
/// caller's handler must not run inside the call that started it.
template <class Executor, class Handler, class... Args>
void complete_later(const Executor& ex, Handler h, Args... args) {
    boost::asio::post(ex, boost::asio::append(std::move(h), std::move(args)...));
}

/// One held lease: its machine (inside the scheduler's view of it) and who
/// waits for what from it. `lease` handles share it.
struct lease_state : lock::scheduled_lease, std::enable_shared_from_this<lease_state> {
    lease_state(std::weak_ptr<lease_driver> d, lock::lease_machine m)
        : scheduled_lease(std::move(m)), driver(std::move(d)) {}

    struct lost_waiter {
        boost::asio::any_completion_handler<void(error_code, loss_reason)> handler;
        boost::asio::cancellation_slot slot;  // cleared when the wait completes
    };
    struct heartbeat_waiter {
        std::uint64_t needed;  // attachments::heartbeats_started after which it completes
        boost::asio::any_completion_handler<void(error_code)> handler;
    };

    std::weak_ptr<lease_driver> driver;
    // A lock held under a session: that session's lease, which it ends with,
    // and its neighbours in the session's list of locks (a lock leaves it in
    // O(1) when released).
    std::shared_ptr<lease_state> session;
    lease_state* prev_bound = nullptr;
    lease_state* next_bound = nullptr;
    bool is_session = false;
    loss_reason final_reason = loss_reason::none;
    bool closing = false;  // released because the client closes
    /// What is attached to a lease: who waits for what from it, the work
    /// bound to it and, for a session, the locks held under it.
    struct attachments {
        // A list: a waiter's cancellation handler keeps its iterator.
        std::list<lost_waiter> lost;
        std::vector<boost::asio::any_completion_handler<void(error_code)>> release;
        std::vector<heartbeat_waiter> heartbeat;
        // Counted from when the first attachment was made: heartbeat waiters
        // compare against it.
        std::uint64_t heartbeats_started = 0;
        std::vector<boost::asio::cancellation_signal*> bound_work;
        lease_state* first_bound = nullptr;
        std::size_t bound_count = 0;
    };
    // Most leases have nothing attached: the parts are made when first needed
    // (a pointer instead of 120 bytes in every lease).
    std::unique_ptr<attachments> attached;
    attachments& attach() {
        if (!attached) {
            attached = std::make_unique<attachments>();
        }
        return *attached;
    }
    lease_state* first_bound() const noexcept { return attached ? attached->first_bound : nullptr; }

    /// A release of this lease, or of the session it is held under, was
    /// asked for: its holder stops believing at once, because the write may
    /// free the item for others before its answer comes back.
    bool releasing() const noexcept {
        return machine.releasing() || (session && session->machine.releasing());
    }
};

class lease_driver : public std::enable_shared_from_this<lease_driver> {
public:
    /// `options` must be valid (lock_client checks them). `on_idle` is called
    /// whenever the last held lease has ended.
    lease_driver(store& s, const lock_client_options& options, std::shared_ptr<time_source> time,
                 std::function<void()> on_idle);
    lease_driver(const lease_driver&) = delete;
    lease_driver& operator=(const lease_driver&) = delete;

    steady_clock::time_point now() const { return time_->now(); }
    const std::shared_ptr<time_source>& time() const noexcept { return time_; }
    boost::asio::any_io_executor executor() const { return ex_; }

    /// A grant becomes a held lease; `sent_at` is when its write was sent.
    std::shared_ptr<lease_state> start(lock_record granted, steady_clock::time_point sent_at);
    /// A granted session item becomes a session: a lease heartbeated like
    /// any other, whose item is marked released, never deleted.
    std::shared_ptr<lease_state> start_session(lock_record granted,
                                               steady_clock::time_point sent_at);
    /// A grant under `session` becomes a lease that lives as long as the
    /// session; null when the session has ended or its local deadline has
    /// passed (a lease born lost: the item names a session nobody believes).
    std::shared_ptr<lease_state> start_bound(lock_record granted, steady_clock::time_point sent_at,
                                             const std::shared_ptr<lease_state>& session);
    /// The lease this client holds on `key`, if any.
    std::shared_ptr<lease_state> find(const lock_key& key) const;
    std::size_t held() const noexcept { return held_.size(); }

    /// Completes with success once released (or deleted), with
    /// errc::lease_lost if the lease ended otherwise.
    void release(const std::shared_ptr<lease_state>& s, std::optional<bytes> data,
                 boost::asio::any_completion_handler<void(error_code)> h);
    /// Completes after a heartbeat sent after this call succeeded.
    void heartbeat(const std::shared_ptr<lease_state>& s,
                   std::optional<std::chrono::milliseconds> lease, std::optional<bytes> data,
                   boost::asio::any_completion_handler<void(error_code)> h);
    void wait_lost(const std::shared_ptr<lease_state>& s,
                   boost::asio::any_completion_handler<void(error_code, loss_reason)> h);
    /// `signal` is emitted (terminal) when the lease ends; until unbind.
    void bind(lease_state& s, boost::asio::cancellation_signal& signal);
    void unbind(lease_state& s, boost::asio::cancellation_signal& signal);

    /// Releases every held lease; each ends with loss_reason::client_closed.
    void release_all();
    /// Ends every held lease here and now with loss_reason::client_closed,
    /// sending nothing (the items expire after their lease): what destroying
    /// the client does. Requests in flight complete into nothing.
    void abandon();

    /// A slot for one request of an acquire, if the scheduler admits it now
    /// (lease_scheduler::admit_other); report its completion to admitted_done.
    bool try_admit();
    /// Waits for such a slot: requests of leases due go first, then waiting
    /// acquires by their request's deadline. Completes with no error (the
    /// slot is taken: report to admitted_done), errc::timeout at `until`
    /// (nothing was sent), client_closed once abandoned, or
    /// operation_aborted on the handler's cancellation slot (any type).
    void admit(steady_clock::time_point until,
               boost::asio::any_completion_handler<void(error_code)> h);
    /// An admitted request completed with `ec`: its slot goes to whoever is next.
    void admitted_done(error_code ec);

    /// The lease-side counters (the client adds the acquire side).
    lock_client_stats counters() const;
    /// Raises a throttled event when `ec` says throttled.
    void report_throttled(error_code ec, const lock_key& key);
    /// Where this client's events go (lock_client_options::on_event).
    event_sink& events() noexcept { return events_; }

private:
    void drive();
    void arm_timer();
    void perform(lock::lease_step&& step);
    void completed(lease_state& s, error_code ec, lock::lease_step step);
    void wake(lease_state& s);
    void complete_heartbeats(lease_state& s, std::uint64_t done_upto);
    void finish(lease_state& s, loss_reason reason);
    void raise_ended(const lease_state& s, loss_reason reason);
    // Bound work is cancelled and every waiter completes, told `reason`.
    void complete_waits(lease_state::attachments& w, loss_reason reason);
    /// Cancels the work bound to `s` and, for a session, to its locks.
    void stop_bound_work(lease_state& s);
    void unlink_from_session(lease_state& s);
    // Hands free slots to waiting acquires, and times out those whose
    // deadline passed.
    void admit_waiting(steady_clock::time_point now);

    struct admission {
        boost::asio::any_completion_handler<void(error_code)> handler;
        boost::asio::cancellation_slot slot;  // cleared when the wait completes
    };
    using admissions = std::multimap<steady_clock::time_point, admission>;
    // Completes a waiting acquire with `ec`, taking it out of the queue.
    void complete_admission(admissions::iterator it, error_code ec);

    store& store_;
    boost::asio::any_io_executor ex_;
    std::shared_ptr<time_source> time_;
    event_sink events_;
    std::function<void()> on_idle_;
    // Shared by every lease: one copy of the owner and the timing.
    std::shared_ptr<const lock::lease_params> params_;
    lock::lease_scheduler scheduler_;
    std::unique_ptr<timer> wake_timer_;
    bool timer_armed_ = false;
    steady_clock::time_point timer_at_{};
    std::uint64_t timer_generation_ = 0;
    bool abandoned_ = false;
    std::size_t sessions_ = 0;
    struct lease_ends {
        std::uint64_t released = 0;
        std::uint64_t lost_stolen = 0;
        std::uint64_t lost_expired = 0;
        void count(loss_reason reason) noexcept;
    };
    // Ends of leases held under a session that no request of their own
    // decided (their session ended): the scheduler does not see those.
    lease_ends bound_ends_;
    // Ends of sessions: the scheduler counts them as leases, the user's
    // counts are of locks.
    lease_ends session_ends_;
    // Ordered by the key in each lease's record: a map would hold a copy of
    // every key (over 100 bytes a lease with its node).
    struct by_key {
        using is_transparent = void;
        static const lock_key& key(const std::shared_ptr<lease_state>& s) {
            return s->machine.record().key;
        }
        static const lock_key& key(const lock_key& k) { return k; }
        bool operator()(const auto& a, const auto& b) const { return key(a) < key(b); }
    };
    std::set<std::shared_ptr<lease_state>, by_key> held_;
    // Holds `state` under its key, in place of any lease held there before.
    void hold(std::shared_ptr<lease_state> state);
    // Acquires waiting for a request slot, by their request's deadline.
    admissions admissions_;
};

}  // namespace dynalock::detail
