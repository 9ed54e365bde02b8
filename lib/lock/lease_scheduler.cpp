#include "lock/lease_scheduler.hpp"

#include <algorithm>
#include <utility>

namespace dynalock::lock {

lease_scheduler::lease_scheduler(std::size_t max_in_flight)
    : max_in_flight_(std::max<std::size_t>(max_in_flight, 1)), limit_(max_in_flight_) {
    counters_.in_flight_limit = limit_;
}

queue_node& queue_node_pool::take(clock::time_point at, scheduled_lease& l) {
    if (free_ == nullptr) {
        blocks_.push_back(std::make_unique<queue_node[]>(block_size));
        for (std::size_t i = block_size; i-- > 0;) {
            blocks_.back()[i].next_free = std::exchange(free_, &blocks_.back()[i]);
        }
    }
    queue_node& n = *std::exchange(free_, free_->next_free);
    n.at = at;
    n.lease = &l;
    return n;
}

void queue_node_pool::give(queue_node& n) noexcept {
    n.lease = nullptr;
    n.next_free = std::exchange(free_, &n);
}

namespace {

// Takes the node at `it` out of `q` and gives it back to `pool`.
template <class Queue>
void erase_node(Queue& q, typename Queue::iterator it, queue_node_pool& pool) noexcept {
    queue_node& n = *it;
    q.erase(it);
    pool.give(n);
}

}  // namespace

void lease_scheduler::enter(scheduled_lease& l, queue& q, clock::time_point at, place where) {
    l.queued_at_ = at;
    q.insert(nodes_.take(at, l));
    l.at_ = where;
}

void lease_scheduler::enter_waiting(scheduled_lease& l, clock::time_point at) {
    l.queued_at_ = at;
    l.at_ = place::waiting;
    waiting_queue::insert_commit_data commit;
    const auto [first, alone] = waiting_.insert_check(at, commit);
    if (alone) {
        l.next_same_ = nullptr;
        waiting_.insert_commit(nodes_.take(at, l), commit);
    } else {
        l.next_same_ = std::exchange(first->lease, &l);
    }
}

lease_scheduler::queue* lease_scheduler::queue_of(place where) noexcept {
    switch (where) {
        case place::ready:
            return &ready_;
        case place::in_flight:
            return &in_flight_by_deadline_;
        default:
            return nullptr;
    }
}

void lease_scheduler::leave(scheduled_lease& l) {
    if (l.at_ == place::waiting) {
        leave_waiting(l);
    } else if (auto* q = queue_of(l.at_)) {
        // Among the nodes of its key (one, unless leases share a deadline).
        auto it = q->lower_bound(l.queued_at_);
        while (it->lease != &l) {
            ++it;
        }
        erase_node(*q, it, nodes_);
    }
    l.at_ = place::outside;
}

// The first lease of the earliest wake-up time; the node goes when its chain
// is empty.
scheduled_lease& lease_scheduler::pop_waiting() {
    queue_node& first = *waiting_.begin();
    scheduled_lease& l = *first.lease;
    first.lease = std::exchange(l.next_same_, nullptr);
    if (first.lease == nullptr) {
        erase_node(waiting_, waiting_.begin(), nodes_);
    }
    l.at_ = place::outside;
    return l;
}

// A lease woken early, or forgotten, while waiting: rare, and a chain is no
// longer than the leases due in one tick.
void lease_scheduler::leave_waiting(scheduled_lease& l) {
    const auto node = waiting_.find(l.queued_at_);
    scheduled_lease* const next = std::exchange(l.next_same_, nullptr);
    if (node->lease == &l) {
        node->lease = next;
        if (next == nullptr) {
            erase_node(waiting_, node, nodes_);
        }
        return;
    }
    scheduled_lease* before = node->lease;
    while (before->next_same_ != &l) {
        before = before->next_same_;
    }
    before->next_same_ = next;
}

void lease_scheduler::add(scheduled_lease& l, clock::time_point now) {
    l.renewed_at_ = now;
    enter_waiting(l, now);
}

void lease_scheduler::wake(scheduled_lease& l, clock::time_point now) {
    if (l.at_ == place::waiting && l.queued_at_ > now) {
        leave(l);
        enter_waiting(l, now);
    } else if (l.at_ == place::outside) {
        enter_waiting(l, now);
    }
    // Queued for a slot, or in flight: it is looked at as soon as it can be.
}

void lease_scheduler::forget(scheduled_lease& l) {
    if (l.at_ == place::in_flight) {
        l.expired_in_flight_ = true;
    }
    if (l.at_ != place::ended) {
        leave(l);
        l.at_ = place::ended;
    }
}

lease_step lease_scheduler::poll(clock::time_point now) {
    // A lease whose deadline passes while its request is out ends then: its
    // holder stops believing at the deadline whatever the network does. The
    // request keeps its slot until it completes.
    if (!in_flight_by_deadline_.empty() && in_flight_by_deadline_.begin()->at <= now) {
        scheduled_lease& l = *in_flight_by_deadline_.begin()->lease;
        leave(l);
        if (now >= l.machine.deadline()) {
            l.expired_in_flight_ = true;
            return settle(l, l.machine.next(now), now);
        }
        // Its danger announcement is due (next() gives nothing else before
        // the deadline while it is due): made while the request is out.
        lease_action danger = l.machine.next(now);
        enter(l, in_flight_by_deadline_, l.machine.deadline(), place::in_flight);
        return {&l, std::move(danger)};
    }
    for (;;) {
        while (!waiting_.empty() && waiting_.begin()->at <= now) {
            scheduled_lease& l = pop_waiting();
            enter(l, ready_, l.machine.deadline(), place::ready);
        }
        if (ready_.empty()) {
            return {};
        }
        // A lease past its deadline ends now, slot or not (next() cannot ask
        // for a request then); otherwise the nearest deadline takes a slot.
        const bool expired = ready_.begin()->at <= now;
        if (!expired && in_flight_ >= limit_) {
            return {};
        }
        scheduled_lease& l = *ready_.begin()->lease;
        leave(l);
        if (lease_step step = settle(l, l.machine.next(now), now); step.lease) {
            return step;
        }
    }
}

lease_step lease_scheduler::settle(scheduled_lease& l, lease_action&& a, clock::time_point now) {
    switch (a.type) {
        case lease_action::kind::write:
        case lease_action::kind::read:
            if (a.type == lease_action::kind::write && a.write.kind == write_kind::refresh) {
                ++counters_.heartbeats_sent;
                l.heartbeat_pending_ = true;
            }
            enter(l, in_flight_by_deadline_,
                  std::min(l.machine.deadline(),
                           l.machine.danger_at().value_or(clock::time_point::max())),
                  place::in_flight);
            ++in_flight_;
            break;
        case lease_action::kind::wait:
            enter_waiting(l, a.until);
            return {};
        case lease_action::kind::danger:
            enter_waiting(l, now);  // then next() again
            break;
        case lease_action::kind::ended:
            l.at_ = place::ended;
            switch (a.reason) {
                case loss_reason::stolen:
                    ++counters_.lost_stolen;
                    break;
                case loss_reason::expired:
                    ++counters_.lost_expired;
                    break;
                default:
                    ++counters_.released;
                    break;
            }
            break;
    }
    counters_.in_flight = in_flight_;
    return {&l, std::move(a)};
}

lease_step lease_scheduler::on_write(scheduled_lease& l, clock::time_point now, error_code ec,
                                     const write_result& result) {
    const bool heartbeat_failed = l.heartbeat_pending_ && ec;
    if (heartbeat_failed) {
        ++counters_.heartbeats_failed;
    }
    const before_completion was = before(l);
    lease_action next = l.machine.on_write(now, ec, result);
    lease_step step = completed(l, now, ec, was, std::move(next));
    step.heartbeat_failed = heartbeat_failed;
    return step;
}

lease_step lease_scheduler::on_read(scheduled_lease& l, clock::time_point now, error_code ec,
                                    const std::optional<lock_record>& record) {
    const before_completion was = before(l);
    lease_action next = l.machine.on_read(now, ec, record);
    return completed(l, now, ec, was, std::move(next));
}

lease_step lease_scheduler::completed(scheduled_lease& l, clock::time_point now, error_code ec,
                                      before_completion was, lease_action&& next) {
    if (l.expired_in_flight_) {
        --in_flight_;
        counters_.in_flight = in_flight_;
        return {};  // it ended at its deadline; the answer changes nothing
    }
    leave(l);
    if (ec == errc::throttled) {
        ++counters_.throttled;
    }
    slot_freed(ec);
    const bool renewed = l.machine.renewals() != was.renewals;
    if (renewed) {
        using std::chrono::duration_cast;
        using std::chrono::microseconds;
        counters_.heartbeat_latency.record(
            duration_cast<microseconds>(now - was.heartbeat_sent_at));
        counters_.max_heartbeat_gap =
            std::max(counters_.max_heartbeat_gap, duration_cast<microseconds>(now - l.renewed_at_));
        l.renewed_at_ = now;
    }
    // Settled unless a read now finds out whether it applied.
    l.heartbeat_pending_ = l.heartbeat_pending_ && next.type == lease_action::kind::read;
    lease_step step = settle(l, std::move(next), now);
    step.renewed = renewed;
    return step;
}

void lease_scheduler::slot_freed(error_code ec) {
    --in_flight_;
    if (ec == errc::throttled) {
        limit_ = std::max<std::size_t>(limit_ / 2, 1);
    } else if (!ec && limit_ < max_in_flight_) {
        ++limit_;
    }
    counters_.in_flight_limit = limit_;
    counters_.in_flight = in_flight_;
}

bool lease_scheduler::admit_other() {
    if (!ready_.empty() || in_flight_ >= limit_) {
        return false;
    }
    ++in_flight_;
    counters_.in_flight = in_flight_;
    return true;
}

void lease_scheduler::other_completed(error_code ec) {
    slot_freed(ec);
}

std::optional<clock::time_point> lease_scheduler::next_wake() const {
    std::optional<clock::time_point> at;
    if (!waiting_.empty()) {
        at = waiting_.begin()->at;
    }
    // Queued leases, and leases with a request out, wake the client at the
    // first deadline among them.
    for (const auto* q : {&ready_, &in_flight_by_deadline_}) {
        if (!q->empty()) {
            at = at ? std::min(*at, q->begin()->at) : q->begin()->at;
        }
    }
    return at;
}

}  // namespace dynalock::lock
