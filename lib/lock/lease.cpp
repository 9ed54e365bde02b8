// The lease handle: what it tells of its lease, and the operations that go to
// the lease driver of its client.

#include <dynalock/lease.hpp>
#include <dynalock/session.hpp>

#include "lock/lease_driver.hpp"

namespace dynalock {

namespace asio = boost::asio;

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
    return state_ && state_->session ? state_->session->machine.record().lease
                                     : record_of(state_).lease;
}
const std::optional<session_ref>& lease::bound_session() const {
    return record_of(state_).session;
}
const std::optional<bytes>& lease::data() const {
    return record_of(state_).data;
}

lease::clock::duration lease::remaining() const {
    if (!state_ || state_->final_reason != loss_reason::none || state_->releasing()) {
        return clock::duration::zero();
    }
    // A lease that has not ended has its driver: destroying a client ends
    // every lease of it.
    return state_->machine.deadline() - state_->driver.lock()->now();
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
    return state_ ? state_->final_reason : loss_reason::none;
}

session_stats session::stats() const {
    const auto& s = lease_.state_;
    return s ? session_stats{.held_locks = s->attached ? s->attached->bound_count : 0,
                             .heartbeats = s->machine.renewals()}
             : session_stats{};
}

bool lease::has_client(const std::shared_ptr<detail::lease_state>& s) {
    return !s->driver.expired();
}

void lease::start_wait_lost(const std::shared_ptr<detail::lease_state>& s,
                            asio::any_completion_handler<void(error_code, loss_reason)> h) {
    // has_client(s) was checked on initiation, on this executor.
    s->driver.lock()->wait_lost(s, std::move(h));
}

void lease::start_heartbeat(const std::shared_ptr<detail::lease_state>& s,
                            std::optional<std::chrono::milliseconds> new_lease,
                            std::optional<bytes> data,
                            asio::any_completion_handler<void(error_code)> h) {
    s->driver.lock()->heartbeat(s, new_lease, std::move(data), std::move(h));
}

}  // namespace dynalock
