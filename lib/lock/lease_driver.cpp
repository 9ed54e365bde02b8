#include "lock/lease_driver.hpp"

#include "lock/lock_item.hpp"
#include "pooled_allocator.hpp"

#include <boost/asio/bind_allocator.hpp>

#include <algorithm>
#include <utility>

namespace dynalock::detail {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

// The lease ended as its holder asked (or its client closing did), not lost.
bool ended_released(loss_reason reason) noexcept {
    return reason == loss_reason::released || reason == loss_reason::client_closed;
}

milliseconds remaining(const lease_state& s, steady_clock::time_point now) {
    return std::chrono::duration_cast<milliseconds>(s.machine.deadline() - now);
}

}  // namespace

lease_driver::lease_driver(store& s, const lock_client_options& o,
                           std::shared_ptr<time_source> time, std::function<void()> on_idle)
    : store_(s),
      ex_(s.get_executor()),
      time_(std::move(time)),
      events_(ex_, o.on_event),
      on_idle_(std::move(on_idle)),
      params_(std::make_shared<const lock::lease_params>(lock::lease_params{
          .owner = o.owner,
          .lease = o.lease,
          .heartbeat_period = o.heartbeat_period,
          .safety_margin = o.safety_margin,
          .danger_zone = o.danger_zone,
          .retry_delay = o.heartbeat_retry_delay,
          .automatic_heartbeats = o.automatic_heartbeats,
          .delete_on_release = o.delete_on_release,
          .new_version = lock::new_record_version,
          // A hundredth of the period at most: far below any lease, and
          // 10,000 leases on a 3 s period wake the client 100 times a
          // second instead of 3,333.
          .heartbeat_tick = std::min(milliseconds(10), o.heartbeat_period / 100),
          .random_unit = lock::random_unit,
      })),
      scheduler_(o.max_in_flight),
      wake_timer_(time_->make_timer(ex_)) {}

std::shared_ptr<lease_state> lease_driver::start(lock_record granted,
                                                 steady_clock::time_point sent_at) {
    auto state = std::make_shared<lease_state>(
        weak_from_this(), lock::lease_machine(params_, std::move(granted), sent_at));
    hold(state);
    scheduler_.add(*state, now());
    drive();
    return state;
}

std::shared_ptr<lease_state> lease_driver::start_session(lock_record granted,
                                                         steady_clock::time_point sent_at) {
    lock::lease_machine machine(params_, std::move(granted), sent_at);
    machine.keep_item_on_release();
    auto state = std::make_shared<lease_state>(weak_from_this(), std::move(machine));
    state->is_session = true;
    ++sessions_;
    hold(state);
    scheduler_.add(*state, now());
    drive();
    return state;
}

std::shared_ptr<lease_state> lease_driver::start_bound(
    lock_record granted, steady_clock::time_point sent_at,
    const std::shared_ptr<lease_state>& session) {
    if (session->final_reason != loss_reason::none || session->machine.releasing() ||
        now() >= session->machine.deadline()) {
        return nullptr;
    }
    auto state = std::make_shared<lease_state>(
        weak_from_this(), lock::lease_machine(params_, std::move(granted), sent_at));
    state->machine.bind_to(session->machine);
    state->session = session;
    auto& locks = session->attach();
    state->next_bound = locks.first_bound;
    if (locks.first_bound != nullptr) {
        locks.first_bound->prev_bound = state.get();
    }
    locks.first_bound = state.get();
    ++locks.bound_count;
    // Not on the scheduler: nothing to do until a release is asked for or
    // the session ends.
    hold(state);
    return state;
}

void lease_driver::unlink_from_session(lease_state& s) {
    if (!s.session) {
        return;
    }
    // Linking it made the session's attachments.
    auto& locks = *s.session->attached;
    if (s.prev_bound != nullptr) {
        s.prev_bound->next_bound = s.next_bound;
    } else {
        locks.first_bound = s.next_bound;
    }
    if (s.next_bound != nullptr) {
        s.next_bound->prev_bound = s.prev_bound;
    }
    s.prev_bound = s.next_bound = nullptr;
    --locks.bound_count;
}

void lease_driver::hold(std::shared_ptr<lease_state> state) {
    auto [it, inserted] = held_.insert(state);
    if (!inserted) {
        // The set orders by the lease's own key, which the new lease shares:
        // the node takes the new lease in place.
        auto node = held_.extract(it);
        node.value() = std::move(state);
        held_.insert(std::move(node));
    }
}

std::shared_ptr<lease_state> lease_driver::find(const lock_key& key) const {
    auto it = held_.find(key);
    return it == held_.end() ? nullptr : *it;
}

// Performs every step due now, then sleeps until the next one.
void lease_driver::drive() {
    if (abandoned_) {
        return;
    }
    const auto t = now();
    while (lock::lease_step step = scheduler_.poll(t)) {
        perform(std::move(step));
    }
    admit_waiting(t);
    arm_timer();
}

void lease_driver::arm_timer() {
    auto next = scheduler_.next_wake();
    if (!admissions_.empty() && (!next || admissions_.begin()->first < *next)) {
        next = admissions_.begin()->first;
    }
    if (!next || (timer_armed_ && *next >= timer_at_)) {
        return;  // an earlier wake-up is harmless: drive() finds nothing due
    }
    timer_armed_ = true;
    timer_at_ = *next;
    // A wait already pending ends, stale: only the newest generation drives.
    wake_timer_->async_wait_until(
        *next, [self = shared_from_this(), generation = ++timer_generation_](error_code) {
            if (generation == self->timer_generation_) {
                self->timer_armed_ = false;
                self->drive();
            }
        });
}

void lease_driver::perform(lock::lease_step&& step) {
    auto s = static_cast<lease_state*>(step.lease)->shared_from_this();
    auto& a = step.action;
    switch (a.type) {
        case lock::lease_action::kind::write:
            if (a.write.kind == write_kind::refresh && s->attached) {
                ++s->attached->heartbeats_started;
            }
            // The handler is type-erased by the store: its room comes from
            // the thread's kept blocks, not a malloc per request.
            store_.async_write(
                std::move(a.write), a.until,
                asio::bind_allocator(detail::pooled_allocator<void>(),
                                     [self = shared_from_this(), s](error_code ec, write_result r) {
                                         if (!self->abandoned_) {
                                             self->completed(
                                                 *s, ec,
                                                 self->scheduler_.on_write(*s, self->now(), ec, r));
                                         }
                                     }));
            break;
        case lock::lease_action::kind::read:
            store_.async_read(
                a.write.key, a.until,
                asio::bind_allocator(
                    detail::pooled_allocator<void>(),
                    [self = shared_from_this(), s](error_code ec, std::optional<lock_record> r) {
                        if (!self->abandoned_) {
                            self->completed(*s, ec,
                                            self->scheduler_.on_read(*s, self->now(), ec, r));
                        }
                    }));
            break;
        case lock::lease_action::kind::danger:
            if (events_) {
                events_.raise({.kind = lock_event_kind::danger,
                               .key = s->machine.record().key,
                               .remaining = remaining(*s, now())});
            }
            break;
        case lock::lease_action::kind::wait:
            break;  // the scheduler keeps waits to itself
        case lock::lease_action::kind::ended:
            if (s->is_session) {
                session_ends_.count(a.reason);
            }
            finish(*s, a.reason);
            break;
    }
}

// A lease's request completed and the scheduler answered with the lease's
// next step; a freed slot may let others go.
void lease_driver::completed(lease_state& s, error_code ec, lock::lease_step step) {
    // The answer to a request of a lease that has ended changes nothing, and
    // the scheduler counts nothing for it either.
    if (s.final_reason == loss_reason::none) {
        report_throttled(ec, s.machine.record().key);
    }
    if (step.heartbeat_failed && events_ && s.final_reason == loss_reason::none) {
        events_.raise({.kind = lock_event_kind::heartbeat_failed,
                       .key = s.machine.record().key,
                       .error = ec,
                       .remaining = remaining(s, now())});
    }
    if (step.renewed && s.attached && !s.attached->heartbeat.empty()) {
        complete_heartbeats(s, s.attached->heartbeats_started);
    }
    if (step) {
        perform(std::move(step));
    }
    drive();
}

bool lease_driver::try_admit() {
    // Waiting acquires come first, and so does every lease due now.
    if (abandoned_ || !admissions_.empty()) {
        return false;
    }
    drive();
    return scheduler_.admit_other();
}

void lease_driver::admit(steady_clock::time_point until,
                         asio::any_completion_handler<void(error_code)> h) {
    if (abandoned_) {
        complete_later(ex_, std::move(h), make_error_code(errc::client_closed));
        return;
    }
    auto slot = asio::get_associated_cancellation_slot(h);
    auto it = admissions_.emplace(until, admission{std::move(h), slot});
    if (slot.is_connected()) {
        // complete_admission clears the slot, so the iterator is valid
        // whenever this runs; a second emission finds nothing to do.
        slot.assign([weak = weak_from_this(), it, fired = false](asio::cancellation_type) mutable {
            auto self = weak.lock();
            if (fired || !self) {
                return;
            }
            fired = true;
            auto handler = std::move(it->second.handler);
            self->admissions_.erase(it);  // the slot (running this) is not cleared
            complete_later(self->ex_, std::move(handler),
                           make_error_code(asio::error::operation_aborted));
        });
    }
    drive();
}

void lease_driver::admitted_done(error_code ec) {
    scheduler_.other_completed(ec);
    if (!abandoned_) {
        drive();
    }
}

void lease_driver::admit_waiting(steady_clock::time_point now) {
    while (!admissions_.empty() && admissions_.begin()->first <= now) {
        complete_admission(admissions_.begin(), make_error_code(errc::timeout));
    }
    while (!admissions_.empty() && scheduler_.admit_other()) {
        complete_admission(admissions_.begin(), error_code{});
    }
}

void lease_driver::complete_admission(admissions::iterator it, error_code ec) {
    if (it->second.slot.is_connected()) {
        it->second.slot.clear();
    }
    auto handler = std::move(it->second.handler);
    admissions_.erase(it);
    complete_later(ex_, std::move(handler), ec);
}

void lease_driver::wake(lease_state& s) {
    scheduler_.wake(s, now());
    drive();
}

void lease_driver::complete_heartbeats(lease_state& s, std::uint64_t done_upto) {
    auto& waiters = s.attached->heartbeat;
    for (auto it = waiters.begin(); it != waiters.end();) {
        if (it->needed <= done_upto) {
            complete_later(ex_, std::move(it->handler), error_code{});
            it = waiters.erase(it);
        } else {
            ++it;
        }
    }
}

void lease_driver::finish(lease_state& s, loss_reason reason) {
    if (s.final_reason != loss_reason::none) {
        return;  // ended already (with its session, or abandoned)
    }
    if (reason == loss_reason::released && s.closing) {
        reason = loss_reason::client_closed;
    }
    s.final_reason = reason;
    if (events_) {
        raise_ended(s, reason);
    }
    scheduler_.forget(s);
    unlink_from_session(s);
    // A session's end ends every lock held under it, with its reason.
    while (s.first_bound() != nullptr) {
        lease_state& bound = *s.first_bound();
        auto keep = bound.shared_from_this();
        bound_ends_.count(reason);
        finish(bound, reason);
    }
    if (s.is_session) {
        --sessions_;
    }
    if (s.attached) {
        complete_waits(*s.attached, reason);
    }
    if (auto it = held_.find(s.machine.record().key); it != held_.end() && it->get() == &s) {
        held_.erase(it);
    }
    if (held_.empty() && on_idle_) {
        on_idle_();
    }
}

void lease_driver::complete_waits(lease_state::attachments& w, loss_reason reason) {
    for (auto* signal : w.bound_work) {
        signal->emit(asio::cancellation_type::terminal);
    }
    for (auto& l : std::exchange(w.lost, {})) {
        if (l.slot.is_connected()) {
            l.slot.clear();
        }
        complete_later(ex_, std::move(l.handler), error_code{}, reason);
    }
    const bool released = ended_released(reason);
    for (auto& h : std::exchange(w.release, {})) {
        complete_later(ex_, std::move(h),
                       released ? error_code{} : make_error_code(errc::lease_lost));
    }
    for (auto& h : std::exchange(w.heartbeat, {})) {
        complete_later(ex_, std::move(h.handler), make_error_code(errc::lease_lost));
    }
}

void lease_driver::raise_ended(const lease_state& s, loss_reason reason) {
    const bool released = ended_released(reason);
    lock_event e{.key = s.machine.record().key,
                 .fence = s.machine.record().fence.value_or(0),
                 .reason = reason};
    if (s.is_session) {
        e.kind = released ? lock_event_kind::session_closed : lock_event_kind::session_lost;
    } else {
        e.kind = released ? lock_event_kind::released : lock_event_kind::lost;
    }
    if (!released) {
        // A lock under a session was renewed by the session's heartbeats.
        const lease_state& renewed = s.session ? *s.session : s;
        e.since_renewal = std::chrono::duration_cast<milliseconds>(now() - renewed.renewed_at());
    }
    events_.raise(std::move(e));
}

void lease_driver::release(const std::shared_ptr<lease_state>& s, std::optional<bytes> data,
                           asio::any_completion_handler<void(error_code)> h) {
    if (s->final_reason != loss_reason::none) {
        const bool released = ended_released(s->final_reason);
        complete_later(ex_, std::move(h),
                       released ? error_code{} : make_error_code(errc::lease_lost));
        return;
    }
    s->attach().release.push_back(std::move(h));
    s->machine.request_release(std::move(data));
    stop_bound_work(*s);
    wake(*s);
}

void lease_driver::stop_bound_work(lease_state& s) {
    if (s.attached) {
        for (auto* signal : s.attached->bound_work) {
            signal->emit(asio::cancellation_type::terminal);
        }
    }
    for (lease_state* bound = s.first_bound(); bound != nullptr; bound = bound->next_bound) {
        stop_bound_work(*bound);
    }
}

void lease_driver::heartbeat(const std::shared_ptr<lease_state>& s,
                             std::optional<milliseconds> lease, std::optional<bytes> data,
                             asio::any_completion_handler<void(error_code)> h) {
    if (lease && (*lease < 2 * params_->heartbeat_period || *lease > max_lease ||
                  *lease <= params_->heartbeat_period + params_->safety_margin)) {
        // The same bounds as lock_client_options::lease.
        complete_later(ex_, std::move(h), make_error_code(errc::invalid_argument));
        return;
    }
    if (s->final_reason != loss_reason::none) {
        complete_later(ex_, std::move(h), make_error_code(errc::lease_lost));
        return;
    }
    if (s->session) {
        // A lock held under a session lives by the session's heartbeats.
        heartbeat(s->session, lease, std::move(data), std::move(h));
        return;
    }
    auto& attached = s->attach();
    attached.heartbeat.push_back({attached.heartbeats_started + 1, std::move(h)});
    s->machine.request_heartbeat(lease, std::move(data));
    wake(*s);
}

void lease_driver::wait_lost(const std::shared_ptr<lease_state>& s,
                             asio::any_completion_handler<void(error_code, loss_reason)> h) {
    if (s->final_reason != loss_reason::none) {
        complete_later(ex_, std::move(h), error_code{}, s->final_reason);
        return;
    }
    auto slot = asio::get_associated_cancellation_slot(h);
    auto& lost = s->attach().lost;
    auto it = lost.insert(lost.end(), {std::move(h), slot});
    if (slot.is_connected()) {
        // finish() clears the slot before it completes the wait, so the
        // iterator is valid whenever this runs.
        // The slot stays assigned after a cancellation (a handler may not
        // clear its own slot): a second emission must find nothing to do.
        slot.assign([weak = std::weak_ptr(s), it, ex = ex_,
                     fired = false](asio::cancellation_type) mutable {
            auto state = weak.lock();
            if (fired || !state) {
                return;
            }
            fired = true;
            auto handler = std::move(it->handler);
            state->attached->lost.erase(it);  // the slot (running this) is not cleared
            complete_later(ex, std::move(handler), make_error_code(asio::error::operation_aborted),
                           loss_reason::none);
        });
    }
}

void lease_driver::bind(lease_state& s, asio::cancellation_signal& signal) {
    s.attach().bound_work.push_back(&signal);
}

void lease_driver::unbind(lease_state& s, asio::cancellation_signal& signal) {
    if (s.attached) {
        std::erase(s.attached->bound_work, &signal);
    }
}

void lease_driver::release_all() {
    const auto t = now();
    for (const auto& s : held_) {
        s->closing = true;
        // A lock held under a session ends with it: one write for all.
        if (!s->session) {
            s->machine.request_release();
            scheduler_.wake(*s, t);
            stop_bound_work(*s);  // a session's reaches its locks'
        }
    }
    drive();
}

void lease_driver::abandon() {
    abandoned_ = true;
    events_.stop();
    wake_timer_->cancel();
    while (!admissions_.empty()) {
        complete_admission(admissions_.begin(), make_error_code(errc::client_closed));
    }
    // finish() erases from held_: walk a copy.
    for (const auto& s : std::vector(held_.begin(), held_.end())) {
        finish(*s, loss_reason::client_closed);
    }
}

void lease_driver::lease_ends::count(loss_reason reason) noexcept {
    switch (reason) {
        case loss_reason::stolen:
            ++lost_stolen;
            break;
        case loss_reason::expired:
            ++lost_expired;
            break;
        default:
            ++released;
            break;
    }
}

lock_client_stats lease_driver::counters() const {
    lock_client_stats r = scheduler_.counters();
    r.held = held_.size() - sessions_;
    r.sessions = sessions_;
    r.released += bound_ends_.released - session_ends_.released;
    r.lost_stolen += bound_ends_.lost_stolen - session_ends_.lost_stolen;
    r.lost_expired += bound_ends_.lost_expired - session_ends_.lost_expired;
    r.sessions_lost = session_ends_.lost_stolen + session_ends_.lost_expired;
    return r;
}

void lease_driver::report_throttled(error_code ec, const lock_key& key) {
    if (ec == errc::throttled && events_) {
        events_.raise({.kind = lock_event_kind::throttled, .key = key, .error = ec});
    }
}

}  // namespace dynalock::detail
