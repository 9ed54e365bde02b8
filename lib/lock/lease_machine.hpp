#pragma once

// Holding a lease, sans-io: heartbeats, the local deadline, release, and the
// resolution of ambiguous writes. Like acquire_machine, it is told the time
// with every event and never reads a clock.
//
// The holder's lease ends at `t_send + lease − safety_margin`, `t_send` taken
// before the granting (or last successful heartbeat) write was sent: whatever
// the network did, the holder stops believing before any contender may start.

#include <dynalock/error.hpp>
#include <dynalock/loss_reason.hpp>
#include <dynalock/store.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace dynalock::lock {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct lease_params {
    std::string owner{};
    milliseconds lease{};
    milliseconds heartbeat_period{};
    /// Subtracted from every local deadline: bound on clock-rate drift and
    /// scheduling delay between us and any contender.
    milliseconds safety_margin{};
    /// Announce (action danger) this long before the deadline when no
    /// heartbeat has succeeded since; zero: never.
    milliseconds danger_zone{};
    /// Wait after a heartbeat that failed without being ambiguous (throttled,
    /// connection refused) before trying again, within the deadline.
    milliseconds retry_delay{};
    bool automatic_heartbeats = true;
    bool delete_on_release = false;
    /// A fresh record version for every heartbeat.
    std::function<std::string()> new_version{};
    /// Heartbeats fall on multiples of this on the steady clock (earlier,
    /// never later than due), so that those due close together share one
    /// wake-up of the client; zero: at their exact times.
    milliseconds heartbeat_tick{};
    /// Uniform in [0, 1), to spread heartbeats in time; empty: no spreading
    /// (heartbeats exactly one period after the last success).
    std::function<double()> random_unit{};
};

struct lease_action {
    enum class kind {
        write,   ///< send `write` with deadline `until`
        read,    ///< read `write.key` with deadline `until`
        wait,    ///< call next() at `until`, or sooner when a request arrives
        danger,  ///< the deadline is near without a successful heartbeat; then call next()
        ended,   ///< the lease is over: `reason`
    };
    kind type = kind::ended;
    lock_write write{};
    clock::time_point until{};
    loss_reason reason = loss_reason::none;
};

class lease_machine {
public:
    /// `granted` is the item as the granting write left it; `sent_at` is when
    /// that write was sent. `params` are shared by every lease of a client.
    lease_machine(std::shared_ptr<const lease_params> params, lock_record granted,
                  clock::time_point sent_at);

    /// What to do now, when nothing is in flight.
    lease_action next(clock::time_point now);
    lease_action on_write(clock::time_point now, error_code ec, const write_result& result);
    lease_action on_read(clock::time_point now, error_code ec,
                         const std::optional<lock_record>& record);

    /// Release at the next opportunity (after an in-flight heartbeat).
    /// `data` replaces the payload as the lock is released.
    void request_release(std::optional<bytes> data = {});
    /// Heartbeat at the next opportunity, optionally with a new lease length
    /// or payload, which later heartbeats keep.
    void request_heartbeat(std::optional<milliseconds> lease = {}, std::optional<bytes> data = {});

    /// The item as our last successful write left it (owner, version, fence, data).
    const lock_record& record() const noexcept { return record_; }
    /// The local deadline: the session's, for a lease held under one.
    clock::time_point deadline() const noexcept {
        return session_ != nullptr ? session_->deadline() : deadline_;
    }
    /// Makes this the lease of a lock held under `session` (which must
    /// outlive it): no heartbeats of its own, the session's deadline.
    void bind_to(const lease_machine& session) noexcept {
        session_ = &session;
        next_heartbeat_ = clock::time_point::max();
        danger_announced_ = true;  // the session announces its own danger
    }
    /// Release by marking the item even when the client deletes on release: a
    /// session's item must keep its epoch (docs/sessions.md).
    void keep_item_on_release() noexcept { keep_item_ = true; }
    bool bound() const noexcept { return session_ != nullptr; }
    /// When the granting write was sent: the start of this holder's validity.
    clock::time_point acquired_at() const noexcept { return acquired_at_; }
    /// Heartbeats that renewed the lease so far.
    std::uint64_t renewals() const noexcept { return renewals_; }
    /// When the last heartbeat was sent: the one a renewal reported next
    /// credits.
    clock::time_point heartbeat_sent_at() const noexcept { return sent_at_; }
    bool ended() const noexcept { return reason_ != loss_reason::none; }
    loss_reason reason() const noexcept { return reason_; }
    /// When the danger announcement is due, while it has not been made.
    std::optional<clock::time_point> danger_at() const noexcept {
        if (p_->danger_zone > milliseconds::zero() && !danger_announced_) {
            return deadline() - p_->danger_zone;
        }
        return std::nullopt;
    }
    /// Whether a release was asked for (and so a coming end is `released`).
    bool releasing() const noexcept { return release_requested_; }

private:
    enum class in_flight : std::uint8_t { none, heartbeat, release };

    lease_action end(loss_reason reason);
    lease_action heartbeat_succeeded(clock::time_point now, const std::optional<lock_record>& r);
    static std::optional<lock_record> readable(const std::optional<lock_record>& r);
    void heartbeat_not_applied();
    lease_action wait_until(clock::time_point until) const;
    lease_action read(clock::time_point now);
    lock_write base_write(write_kind kind) const;
    clock::time_point next_heartbeat_after(clock::time_point renewed_at, double max_spread) const;

    std::shared_ptr<const lease_params> p_;
    lock_record record_;
    clock::time_point acquired_at_;
    clock::time_point deadline_;
    const lease_machine* session_ = nullptr;
    clock::time_point next_heartbeat_;
    clock::time_point sent_at_{};
    std::string pending_version_;
    // What later heartbeats write (request_heartbeat changes it at any time)
    // and what the heartbeat in flight wrote: only that is credited on success.
    milliseconds pending_lease_{};
    milliseconds sent_lease_{};
    // Payloads are rare and the machines many: one pointer for the three,
    // made when one is first given (8 bytes instead of 96).
    struct payloads {
        std::optional<bytes> pending;  // for later heartbeats
        std::optional<bytes> sent;     // by the heartbeat in flight
        std::optional<bytes> release;  // for the release
    };
    std::unique_ptr<payloads> data_;
    payloads& data();
    // The payload the heartbeat in flight sent, if any.
    const std::optional<bytes>* sent_data() const noexcept {
        return data_ && data_->sent ? &data_->sent : nullptr;
    }
    // After a failure, nothing is sent before this (a backoff).
    clock::time_point hold_until_{};  // none: the clock's epoch, long past
    std::uint64_t renewals_ = 0;
    // The small members together, where they pad one word rather than four.
    loss_reason reason_ = loss_reason::none;
    in_flight in_flight_ = in_flight::none;
    // Reading to learn whether an ambiguous write (of in_flight_) applied.
    bool resolving_ = false;
    bool keep_item_ = false;
    bool release_requested_ = false;
    bool heartbeat_requested_ = false;
    bool danger_announced_ = false;
};

}  // namespace dynalock::lock
