#include "lock/lease_machine.hpp"

#include <algorithm>
#include <utility>

namespace dynalock::lock {

// Leases granted together (a worker taking its shards at start) would
// heartbeat together forever: the first heartbeat comes up to half a period
// early, which scatters a burst over half a period, and every later one up to
// a tenth early, which keeps them scattered without ever coming late.
constexpr double first_spread = 0.5;
constexpr double later_spread = 0.1;

lease_machine::lease_machine(std::shared_ptr<const lease_params> params, lock_record granted,
                             clock::time_point sent_at)
    : p_(std::move(params)),
      record_(std::move(granted)),
      acquired_at_(sent_at),
      deadline_(sent_at + record_.lease - p_->safety_margin),
      next_heartbeat_(next_heartbeat_after(sent_at, first_spread)),
      pending_lease_(record_.lease) {}

clock::time_point lease_machine::next_heartbeat_after(clock::time_point renewed_at,
                                                      double max_spread) const {
    if (!p_->automatic_heartbeats) {
        return clock::time_point::max();
    }
    auto period = std::chrono::duration_cast<clock::duration>(p_->heartbeat_period);
    if (p_->random_unit) {
        period -=
            std::chrono::duration_cast<clock::duration>(period * max_spread * p_->random_unit());
    }
    auto at = renewed_at + period;
    const auto tick = std::chrono::duration_cast<clock::duration>(p_->heartbeat_tick);
    if (tick > clock::duration::zero() && at - at.time_since_epoch() % tick > renewed_at) {
        at -= at.time_since_epoch() % tick;
    }
    return at;
}

lease_machine::payloads& lease_machine::data() {
    if (!data_) {
        data_ = std::make_unique<payloads>();
    }
    return *data_;
}

void lease_machine::request_release(std::optional<bytes> data) {
    release_requested_ = true;
    if (data || data_) {
        this->data().release = std::move(data);
    }
}

void lease_machine::request_heartbeat(std::optional<milliseconds> lease,
                                      std::optional<bytes> data) {
    heartbeat_requested_ = true;
    if (lease) {
        pending_lease_ = *lease;
    }
    if (data) {
        this->data().pending = std::move(data);
    }
}

lease_action lease_machine::next(clock::time_point now) {
    if (ended()) {
        return {.type = lease_action::kind::ended, .reason = reason_};
    }
    if (now >= deadline()) {
        return end(loss_reason::expired);
    }
    const auto danger_at = deadline() - p_->danger_zone;
    const bool danger_due = p_->danger_zone > milliseconds::zero() && !danger_announced_;
    if (danger_due && now >= danger_at) {
        danger_announced_ = true;
        return {.type = lease_action::kind::danger};
    }
    if (now < hold_until_) {
        return wait_until(hold_until_);
    }
    if (resolving_) {
        return read(now);
    }
    if (release_requested_) {
        in_flight_ = in_flight::release;
        // Built in the action: a write is moved enough on its way out.
        lease_action a{.type = lease_action::kind::write,
                       .write = base_write(write_kind::release),
                       .until = deadline()};
        a.write.delete_item = p_->delete_on_release && !keep_item_;
        if (data_ && data_->release) {
            a.write.data_action = data_change::replace;
            a.write.data = *data_->release;
        }
        return a;
    }
    if (heartbeat_requested_ || now >= next_heartbeat_) {
        heartbeat_requested_ = false;
        in_flight_ = in_flight::heartbeat;
        pending_version_ = p_->new_version();
        sent_at_ = now;
        sent_lease_ = pending_lease_;
        if (data_) {
            data_->sent = std::exchange(data_->pending, std::nullopt);
        }
        lease_action a{.type = lease_action::kind::write,
                       .write = base_write(write_kind::refresh),
                       .until = deadline()};
        a.write.new_version = pending_version_;
        a.write.lease = sent_lease_;
        if (const auto* sent = sent_data()) {
            a.write.data_action = data_change::replace;
            a.write.data = **sent;
        }
        return a;
    }
    return wait_until(next_heartbeat_);
}

// A wait that also ends at the deadline and, when still due, at the danger
// announcement.
lease_action lease_machine::wait_until(clock::time_point until) const {
    until = std::min(until, deadline());
    if (p_->danger_zone > milliseconds::zero() && !danger_announced_) {
        until = std::min(until, deadline() - p_->danger_zone);
    }
    return {.type = lease_action::kind::wait, .until = until};
}

lease_action lease_machine::on_write(clock::time_point now, error_code ec,
                                     const write_result& result) {
    if (ended()) {
        return {.type = lease_action::kind::ended, .reason = reason_};
    }
    // malformed_item: the write applied, but an attribute it does not set is
    // wrong (another tool's doing); what it wrote is known all the same.
    if (!ec || ec == errc::malformed_item) {
        const in_flight what = std::exchange(in_flight_, in_flight::none);
        return what == in_flight::heartbeat ? heartbeat_succeeded(now, readable(result.record))
                                            : end(loss_reason::released);
    }
    if (ec == errc::conditional_check_failed) {
        // The item is not ours any more (another owner, another version, or
        // released or deleted by someone else): the lease was over already.
        in_flight_ = in_flight::none;
        return end(loss_reason::stolen);
    }
    if (is_ambiguous(ec)) {
        resolving_ = true;
        return next(now);
    }
    // It certainly did not apply: try again after a pause, within the deadline.
    const in_flight what = std::exchange(in_flight_, in_flight::none);
    if (what == in_flight::heartbeat) {
        heartbeat_not_applied();
    }
    hold_until_ = now + p_->retry_delay;
    return next(now);
}

lease_action lease_machine::on_read(clock::time_point now, error_code ec,
                                    const std::optional<lock_record>& record) {
    if (ended()) {
        return {.type = lease_action::kind::ended, .reason = reason_};
    }
    // A malformed item still tells whose it is (owner and version read, or
    // it is not ours).
    if (ec && !(ec == errc::malformed_item && record)) {
        hold_until_ = now + p_->retry_delay;
        return next(now);
    }
    resolving_ = false;
    const in_flight what = std::exchange(in_flight_, in_flight::none);
    const bool ours = record && !record->released && record->owner == p_->owner;
    if (what == in_flight::heartbeat) {
        if (ours && record->record_version == pending_version_) {
            return heartbeat_succeeded(now, readable(record));
        }
        if (ours && record->record_version == record_.record_version) {
            heartbeat_not_applied();
            return next(now);
        }
        return end(loss_reason::stolen);
    }
    if (ours && record->record_version == record_.record_version) {
        return next(now);  // the release did not apply: release_requested_ sends it again
    }
    return end(loss_reason::released);
}

// `r` unless it is malformed: only a well-formed item replaces what the lease
// knows of its own.
std::optional<lock_record> lease_machine::readable(const std::optional<lock_record>& r) {
    return r && !r->malformed ? r : std::nullopt;
}

// The heartbeat in flight certainly did not apply: send it again, with its
// payload unless a newer one was asked for meanwhile.
void lease_machine::heartbeat_not_applied() {
    if (data_) {
        if (!data_->pending) {
            data_->pending = std::move(data_->sent);
        }
        data_->sent.reset();
    }
    if (!release_requested_) {
        heartbeat_requested_ = true;
    }
}

lease_action lease_machine::heartbeat_succeeded(clock::time_point now,
                                                const std::optional<lock_record>& r) {
    if (now >= deadline()) {
        // Too late: the lease ran out locally before the answer came, and a
        // contender may have started counting. Whatever the item says now,
        // this holder stopped believing at its deadline.
        return end(loss_reason::expired);
    }
    if (r) {
        record_ = *r;
    } else if (const auto* sent = sent_data()) {
        record_.data = *sent;
    }
    // Moved: only a heartbeat in flight needs the version it sent.
    record_.record_version = std::move(pending_version_);
    record_.lease = sent_lease_;
    deadline_ = sent_at_ + sent_lease_ - p_->safety_margin;
    next_heartbeat_ = next_heartbeat_after(sent_at_, later_spread);
    if (data_) {
        data_->sent.reset();
    }
    danger_announced_ = false;
    ++renewals_;
    return next(now);
}

lease_action lease_machine::read(clock::time_point) {
    lease_action a{.type = lease_action::kind::read, .until = deadline()};
    a.write.key = record_.key;
    return a;
}

lease_action lease_machine::end(loss_reason reason) {
    reason_ = reason;
    in_flight_ = in_flight::none;
    return {.type = lease_action::kind::ended, .reason = reason};
}

lock_write lease_machine::base_write(write_kind kind) const {
    return lock_write{.key = record_.key,
                      .kind = kind,
                      .condition = write_condition::version_and_owner,
                      .expected_version = record_.record_version,
                      .owner = p_->owner};
}

}  // namespace dynalock::lock
