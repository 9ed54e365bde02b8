#include "lock/acquire_machine.hpp"

#include "lock/lock_item.hpp"

#include <algorithm>

namespace dynalock::lock {

namespace {
// A lock seen free or released can be lost to a faster contender between our
// look and our write; beyond this many immediate retries in a row we wait a
// poll period, so two contenders cannot spin against each other.
constexpr int max_immediate_retries = 3;
}  // namespace

acquire_machine::acquire_machine(acquire_params params, std::function<std::string()> new_version)
    : p_(std::move(params)), new_version_(std::move(new_version)), observed_(p_.known) {}

acquire_action acquire_machine::start(clock::time_point now) {
    if (p_.budget) {
        give_up_at_ = now + *p_.budget;
    }
    if (observed_ && now - observed_->since >= observed_->lease) {
        return write_grant(now, write_condition::version, observed_->record_version);
    }
    return write_grant(now, write_condition::free, {});
}

acquire_action acquire_machine::on_write(clock::time_point now, error_code ec,
                                         const write_result& result) {
    if (withdrawing_) {
        return on_withdrawal(now, ec);
    }
    if (killing_) {
        return on_kill(now, ec, result);
    }
    if (!ec) {
        if (!result.record) {
            // It applied, but the answer lacks the item: read it.
            resolving_ = true;
            return read(now);
        }
        acquire_action a{.type = acquire_action::kind::granted, .record = *result.record};
        a.sent_at = sent_at_;
        return a;
    }
    if (ec == errc::malformed_item && result.record) {
        return withdraw_grant(now, *result.record);
    }
    if (ec == errc::conditional_check_failed) {
        return on_current(now, result.record);
    }
    if (is_ambiguous(ec)) {
        // The grant may have applied: only the item can tell.
        resolving_ = true;
        return read(now);
    }
    if (is_retryable(ec) && p_.wait && !out_of_time(now)) {
        return wait_or_give_up(now);
    }
    return finish(acquire_action::kind::failed, ec);
}

acquire_action acquire_machine::on_read(clock::time_point now, error_code ec,
                                        const std::optional<lock_record>& record) {
    // A malformed item is an answer too: on_current says what is wrong with it.
    if (ec && !(ec == errc::malformed_item && record)) {
        if (is_retryable(ec) && p_.wait && !out_of_time(now)) {
            return wait_or_give_up(now);
        }
        return finish(acquire_action::kind::failed, ec);
    }
    if (resolving_) {
        resolving_ = false;
        if (record && !record->released && record->record_version == pending_version_ &&
            record->owner == p_.owner) {
            if (record->malformed) {
                return withdraw_grant(now, *record);
            }
            acquire_action a{.type = acquire_action::kind::granted, .record = *record};
            a.sent_at = sent_at_;
            return a;
        }
    }
    return on_current(now, record);
}

acquire_action acquire_machine::on_wake(clock::time_point now) {
    if (withdrawing_) {
        return send_withdrawal(now);
    }
    if (resolving_) {
        return read(now);
    }
    if (bound_holder_) {
        // Watch the session, not the lock: the lock's version stands still
        // while it is held under a session. A takeover conditioned on the
        // lock as read fails if the lock changed meanwhile.
        if (out_of_time(now)) {
            return finish(acquire_action::kind::not_granted, errc::lock_not_granted);
        }
        return read_session(now, false);
    }
    if (observed_ && now - observed_->since >= observed_->lease) {
        return write_grant(now, write_condition::version, observed_->record_version);
    }
    if (out_of_time(now)) {
        return finish(acquire_action::kind::not_granted, errc::lock_not_granted);
    }
    return read(now);
}

acquire_action acquire_machine::on_current(clock::time_point now,
                                           const std::optional<lock_record>& current) {
    if (current && current->malformed) {
        return finish(acquire_action::kind::failed, errc::malformed_item,
                      describe_lock(p_.key) + ": " + *current->malformed);
    }
    if (current && current->fence.value_or(0) > max_fence_before_grant) {
        // No grant can apply (the store's condition refuses it), so none is tried.
        return finish(acquire_action::kind::failed, errc::fence_exhausted,
                      describe_lock(p_.key) + ": its fence is " + std::to_string(*current->fence) +
                          ", the largest a client can hold, so no grant can raise it; nothing "
                          "was written");
    }
    if (!current || current->released) {
        if (!current && p_.require_existing) {
            return finish(acquire_action::kind::not_granted, errc::lock_not_granted);
        }
        if (++immediate_retries_ > max_immediate_retries) {
            immediate_retries_ = 0;
            return wait_or_give_up(now);
        }
        if (current && p_.consistent_released) {
            return write_grant(now, write_condition::version, current->record_version);
        }
        return write_grant(now, write_condition::free, {});
    }
    immediate_retries_ = 0;
    holder_ = current;
    if (current->session) {
        bound_holder_ = current;
        return read_session(now, false);
    }
    bound_holder_.reset();
    session_.reset();
    if (!observed_ || observed_->record_version != current->record_version) {
        // A new version: the holder is alive (or changed); its lease counts
        // from now, when the answer that showed it arrived.
        observed_ = observation{current->record_version, current->lease, now};
    }
    if (!give_up_at_ && p_.wait) {
        give_up_at_ = now + current->lease + p_.poll_period;
    }
    if (now - observed_->since >= observed_->lease) {
        return write_grant(now, write_condition::version, observed_->record_version);
    }
    if (!p_.wait) {
        return finish(acquire_action::kind::not_granted, errc::lock_not_granted);
    }
    return wait_or_give_up(now);
}

acquire_action acquire_machine::write_grant(clock::time_point now, write_condition condition,
                                            std::string expected_version) {
    pending_version_ = new_version_();
    sent_at_ = now;
    acquire_action a{.type = acquire_action::kind::write};
    a.write = lock_write{.key = p_.key,
                         .kind = write_kind::grant,
                         .condition = condition,
                         .require_existing = p_.require_existing,
                         .expected_version = std::move(expected_version),
                         .owner = p_.owner,
                         .new_version = pending_version_,
                         .lease = p_.lease,
                         .data_action = p_.data_action,
                         .data = p_.data,
                         .extra = p_.extra,
                         .session = p_.session,
                         .session_item = p_.session_item};
    if (condition == write_condition::free) {
        a.write.ended_sessions = p_.ended_sessions;
    }
    a.until = now + p_.request_timeout;
    return a;
}

acquire_action acquire_machine::read(clock::time_point now) {
    acquire_action a{.type = acquire_action::kind::read};
    a.write.key = p_.key;
    a.until = now + p_.request_timeout;
    return a;
}

acquire_action acquire_machine::wait_or_give_up(clock::time_point now) {
    if (out_of_time(now) || !p_.wait) {
        return finish(acquire_action::kind::not_granted, errc::lock_not_granted);
    }
    clock::time_point until = now + p_.poll_period;
    // Wake exactly when the observed lease runs out, not a poll later. (An
    // observation that ran out already must not cut the pause short: this
    // wait is the back-off after a throttle or a lost race.)
    if (bound_holder_ && session_ && session_->record) {
        const auto runs_out = session_->since + session_->record->lease;
        if (runs_out > now) {
            until = std::min(until, runs_out);
        }
    } else if (observed_ && observed_->since + observed_->lease > now) {
        until = std::min(until, observed_->since + observed_->lease);
    }
    if (give_up_at_) {
        until = std::min(until, *give_up_at_);
    }
    acquire_action a{.type = acquire_action::kind::wait};
    a.until = until;
    return a;
}

// The grant applied (the item carries our new version), but the item it left
// is not a lock item: release it by that version, so nobody holds it.
acquire_action acquire_machine::withdraw_grant(clock::time_point now, const lock_record& left) {
    withdrawing_ = describe_lock(p_.key) + ": " + left.malformed.value_or("not a lock item") +
                   "; the grant had applied";
    return send_withdrawal(now);
}

acquire_action acquire_machine::send_withdrawal(clock::time_point now) {
    acquire_action a{.type = acquire_action::kind::write};
    a.write = lock_write{.key = p_.key,
                         .kind = write_kind::release,
                         .condition = write_condition::version_and_owner,
                         .expected_version = pending_version_,
                         .owner = p_.owner};
    a.until = now + p_.request_timeout;
    return a;
}

acquire_action acquire_machine::on_withdrawal(clock::time_point now, error_code ec) {
    // malformed_item: the release applied; its item is as unreadable as before.
    if (!ec || ec == errc::malformed_item) {
        return finish(acquire_action::kind::failed, errc::malformed_item,
                      *withdrawing_ + " and was released again at once");
    }
    if (ec == errc::conditional_check_failed) {
        return finish(acquire_action::kind::failed, errc::malformed_item,
                      *withdrawing_ + "; another writer changed the item before it was released");
    }
    // Sending it again is safe: it is conditioned on the version our grant
    // wrote. Past our lease, the lock is free for others anyway.
    const clock::time_point lease_end = sent_at_ + p_.lease;
    if ((is_retryable(ec) || is_ambiguous(ec)) && now + p_.poll_period < lease_end) {
        acquire_action a{.type = acquire_action::kind::wait};
        a.until = now + p_.poll_period;
        return a;
    }
    return finish(acquire_action::kind::failed, errc::malformed_item,
                  *withdrawing_ + "; releasing it failed (" + ec.message() +
                      "), so it stays held by nobody until its lease of " +
                      std::to_string(p_.lease.count()) + " ms has passed");
}

acquire_action acquire_machine::finish(acquire_action::kind kind, error_code ec,
                                       std::string message) {
    acquire_action a{.type = kind, .ec = ec, .message = std::move(message)};
    if (kind == acquire_action::kind::not_granted && holder_) {
        a.record = *holder_;
    }
    return a;
}

acquire_action acquire_machine::read_session(clock::time_point now, bool fresh) {
    acquire_action a{.type = acquire_action::kind::read_session};
    a.write.key = bound_holder_->session->key;
    a.until = now + p_.request_timeout;
    a.fresh = fresh;
    return a;
}

bool acquire_machine::orphaned(const session_view& view) const {
    return session_ended(view.record, bound_holder_->session->epoch);
}

acquire_action acquire_machine::on_session(clock::time_point now, error_code ec,
                                           const session_view& view) {
    if (ec && !(ec == errc::malformed_item && view.record)) {
        if (is_retryable(ec) && p_.wait && !out_of_time(now)) {
            return wait_or_give_up(now);
        }
        return finish(acquire_action::kind::failed, ec);
    }
    session_ = view;
    if (orphaned(view)) {
        ended_session_ = bound_holder_->session;
        // The holder's session has ended (released, ended by a contender,
        // gone, or at another epoch): nobody believes this lock any more.
        return write_grant(now, write_condition::version, bound_holder_->record_version);
    }
    const lock_record& s = *view.record;
    if (s.malformed) {
        return finish(acquire_action::kind::failed, errc::malformed_item,
                      describe_lock(p_.key) + " is held under session " + describe_lock(s.key) +
                          ", which is malformed: " + *s.malformed);
    }
    if (!give_up_at_ && p_.wait) {
        give_up_at_ = now + s.lease + p_.poll_period;
    }
    if (now - view.since >= s.lease) {
        // The session's version stood still for its whole lease (timed here,
        // from when it was first seen): end it with one write conditioned on
        // that version, which frees every lock held under it at once.
        killing_ = true;
        acquire_action a{.type = acquire_action::kind::write};
        a.write = lock_write{.key = s.key,
                             .kind = write_kind::release,
                             .condition = write_condition::version,
                             .expected_version = s.record_version};
        a.until = now + p_.request_timeout;
        return a;
    }
    if (!p_.wait) {
        return finish(acquire_action::kind::not_granted, errc::lock_not_granted);
    }
    return wait_or_give_up(now);
}

acquire_action acquire_machine::on_kill(clock::time_point now, error_code ec,
                                        const write_result& result) {
    killing_ = false;
    if (!ec || ec == errc::malformed_item ||
        (ec == errc::conditional_check_failed && orphaned(session_view{result.record, now}))) {
        // Ended by us, or by itself or another contender meanwhile.
        ended_session_ = bound_holder_->session;
        return write_grant(now, write_condition::version, bound_holder_->record_version);
    }
    if (ec == errc::conditional_check_failed) {
        // It heartbeated first: alive, and its new version counts from now.
        session_ = session_view{result.record, now};
        if (!p_.wait) {
            return finish(acquire_action::kind::not_granted, errc::lock_not_granted);
        }
        return wait_or_give_up(now);
    }
    if (is_ambiguous(ec)) {
        // Whether it applied, only the session item tells (a fresh read).
        return read_session(now, true);
    }
    if (is_retryable(ec) && p_.wait && !out_of_time(now)) {
        return wait_or_give_up(now);
    }
    return finish(acquire_action::kind::failed, ec);
}

bool acquire_machine::out_of_time(clock::time_point now) const {
    return give_up_at_ && now >= *give_up_at_;
}

}  // namespace dynalock::lock
