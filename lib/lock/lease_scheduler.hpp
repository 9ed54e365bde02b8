#pragma once

// Every held lease of a client on one timeline, sans-io. The lease machines
// decide what each lease needs and when; the scheduler decides which lease
// goes next: one ordered queue of wake-up times instead of a timer per lease,
// and a bound on requests in flight under which the lease closest to its
// deadline goes first. Acquires share that bound and come after every lease
// due: a client taking thousands of locks never starves the heartbeats of
// those it holds already, whatever the store's pace. A lease whose deadline passes while it queues
// for a slot, or while its request is out, ends (expired) at its deadline: never renewed late,
// never kept by a store that does not answer.
//
// Like the machines it never reads a clock and never does I/O: the lock
// client's shell polls it for steps, performs them and reports completions.

#include "lock/lease_machine.hpp"

#include <dynalock/lock_client_stats.hpp>

#include <boost/intrusive/set.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

namespace dynalock::lock {

/// A held lease as the scheduler sees it: the lock client's per-lease state
/// derives from it. The scheduler's queues do not link leases: they order
/// nodes of their own, kept together, that point at leases. Ordering walks a
/// few kilobytes that stay in cache rather than leases strewn across the
/// heap, where each level of a tree of leases was a cache miss. A lease
/// leaves the timeline (ends, or forget()) before it goes, unless the
/// scheduler goes with it (the lease driver's leases and scheduler).
class scheduled_lease {
public:
    explicit scheduled_lease(lease_machine m) : machine(std::move(m)) {}
    scheduled_lease(const scheduled_lease&) = delete;
    scheduled_lease& operator=(const scheduled_lease&) = delete;

    lease_machine machine;
    /// When the lease was last renewed (granted, or a heartbeat's success
    /// reported).
    clock::time_point renewed_at() const noexcept { return renewed_at_; }

private:
    friend class lease_scheduler;
    enum class place : std::uint8_t { outside, waiting, ready, in_flight, ended };

    place at_ = place::outside;
    bool heartbeat_pending_ = false;  // a heartbeat was sent and is not settled
    bool expired_in_flight_ = false;  // ended at its deadline with a request out
    // Its key in waiting_ (wake time), ready_ or in_flight_by_deadline_ (deadline).
    clock::time_point queued_at_{};
    // Waiting: the next lease of its chain (those waking at the same time).
    scheduled_lease* next_same_ = nullptr;
    clock::time_point renewed_at_{};
};

/// An entry of the scheduler's queues: a time and the lease it is of (for
/// the waiting queue, the first of the chain of leases waking then).
struct queue_node
    : boost::intrusive::set_base_hook<boost::intrusive::optimize_size<true>,
                                      boost::intrusive::link_mode<boost::intrusive::normal_link>> {
    clock::time_point at{};
    scheduled_lease* lease = nullptr;
    queue_node* next_free = nullptr;

    struct key {
        using type = clock::time_point;
        const type& operator()(const queue_node& n) const noexcept { return n.at; }
    };
};

/// Where the queues' nodes live: in blocks of many, reused through a free
/// list, so that nodes queued together lie together and a heartbeat
/// allocates nothing.
class queue_node_pool {
public:
    queue_node_pool() = default;
    queue_node_pool(const queue_node_pool&) = delete;
    queue_node_pool& operator=(const queue_node_pool&) = delete;

    queue_node& take(clock::time_point at, scheduled_lease& l);
    void give(queue_node& n) noexcept;

private:
    static constexpr std::size_t block_size = 256;
    std::vector<std::unique_ptr<queue_node[]>> blocks_;
    queue_node* free_ = nullptr;
};

/// What to do now for one lease: perform `action` (write, read), announce
/// danger, or finish the ended lease. `lease` is null when nothing is due.
struct lease_step {
    scheduled_lease* lease = nullptr;
    lease_action action{};
    /// From on_write/on_read: the completion renewed the lease (whatever the
    /// lease does next).
    bool renewed = false;
    /// From on_write: the completion was of a heartbeat, which failed.
    bool heartbeat_failed = false;

    explicit operator bool() const noexcept { return lease != nullptr; }
};

class lease_scheduler {
public:
    explicit lease_scheduler(std::size_t max_in_flight);

    /// A lease just granted (its grant counts as the first renewal).
    void add(scheduled_lease& l, clock::time_point now);
    /// Something was asked of the lease (release, heartbeat): look at it now.
    /// A lease not on the timeline (held under a session) joins it.
    void wake(scheduled_lease& l, clock::time_point now);
    /// The lease ended outside the scheduler (its session ended): it leaves
    /// the timeline; a request of it still out keeps its slot until it
    /// completes, and then changes nothing.
    void forget(scheduled_lease& l);

    /// The next step due at `now`. Call until it returns no lease. A write or
    /// read returned holds a request slot until its completion is reported.
    lease_step poll(clock::time_point now);
    /// Report the completion of a lease's write or read; returns that lease's
    /// next step (a write or read keeps the slot).
    lease_step on_write(scheduled_lease& l, clock::time_point now, error_code ec,
                        const write_result& result);
    lease_step on_read(scheduled_lease& l, clock::time_point now, error_code ec,
                       const std::optional<lock_record>& record);

    /// A request that is no lease's (an acquire's) takes a slot, when one is
    /// free and no lease due waits for one: false, and nothing changes,
    /// otherwise. Call poll until it returns no lease first, so that every
    /// lease due is queued.
    bool admit_other();
    /// Report the completion of an admitted request: its slot is free, and
    /// throttling shrinks the bound as for leases (counted by the caller).
    void other_completed(error_code ec);

    /// When poll next has something to do; empty when nothing is scheduled.
    std::optional<clock::time_point> next_wake() const;

    std::size_t in_flight() const noexcept { return in_flight_; }
    std::size_t limit() const noexcept { return limit_; }
    /// The lease-side counters of lock_client_stats (held, acquired and the
    /// acquire side are the client's).
    const lock_client_stats& counters() const noexcept { return counters_; }

private:
    using place = scheduled_lease::place;
    using queue =
        boost::intrusive::multiset<queue_node, boost::intrusive::key_of_value<queue_node::key>,
                                   boost::intrusive::constant_time_size<false>>;
    // The waiting queue holds one node per wake-up time, and the leases
    // waking then in a chain from it: heartbeats fall on the driver's ticks,
    // so thousands of leases share a few hundred nodes, and queueing one
    // touches no other lease.
    using waiting_queue =
        boost::intrusive::set<queue_node, boost::intrusive::key_of_value<queue_node::key>,
                              boost::intrusive::constant_time_size<false>>;

    lease_step settle(scheduled_lease& l, lease_action&& a, clock::time_point now);
    // What a completion is measured against: the lease before it was told.
    struct before_completion {
        std::uint64_t renewals;
        clock::time_point heartbeat_sent_at;
    };
    static before_completion before(const scheduled_lease& l) noexcept {
        return {l.machine.renewals(), l.machine.heartbeat_sent_at()};
    }
    lease_step completed(scheduled_lease& l, clock::time_point now, error_code ec,
                         before_completion was, lease_action&& next);
    // A slot is free again: the bound adapts to how the request went.
    void slot_freed(error_code ec);
    void enter(scheduled_lease& l, queue& q, clock::time_point at, place where);
    void enter_waiting(scheduled_lease& l, clock::time_point at);
    void leave(scheduled_lease& l);
    void leave_waiting(scheduled_lease& l);
    scheduled_lease& pop_waiting();
    queue* queue_of(place where) noexcept;

    const std::size_t max_in_flight_;
    std::size_t limit_;
    std::size_t in_flight_ = 0;
    // Before the queues: they are destroyed first, as they hold its nodes.
    queue_node_pool nodes_;
    waiting_queue waiting_;  // by when next() should look at them
    queue ready_;            // due, waiting for a slot, by deadline
    // A request out, by deadline (or by the danger announcement before it).
    queue in_flight_by_deadline_;
    lock_client_stats counters_;
};

}  // namespace dynalock::lock
