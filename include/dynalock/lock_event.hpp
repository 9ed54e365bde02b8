#pragma once

/// \file
/// What happens to a lock client's locks and sessions, for logs and alerts.

#include <dynalock/error.hpp>
#include <dynalock/lock_record.hpp>
#include <dynalock/loss_reason.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace dynalock {

/// What happened, in a lock_event. Each kind names the fields it fills; the
/// others keep their defaults.
enum class lock_event_kind {
    /// A lock was granted: `key`, `fence`.
    acquired,
    /// A lock's lease ended by release: `key`, `fence`, `reason`
    /// (loss_reason::released, or client_closed when the client closed).
    released,
    /// A lock's lease ended otherwise: `key`, `fence`, `reason` (stolen or
    /// expired), `since_renewal`.
    lost,
    /// A heartbeat request failed (an error, an ambiguous outcome then
    /// settled by a read, or a failed condition): `key`, `error`, and
    /// `remaining` before the local deadline. The lease may still be kept by
    /// the next try.
    heartbeat_failed,
    /// The danger zone (lock_client_options::danger_zone) was reached with
    /// no heartbeat succeeding since: `key`, `remaining`.
    danger,
    /// A request ended throttled after the store's own retries: `key`,
    /// `error` (errc::throttled).
    throttled,
    /// A session was opened: `key` (its item), `fence` (its epoch).
    session_opened,
    /// A session ended by release or by the client closing: `key`, `fence`,
    /// `reason`. Each lock held under it gets its own `released`.
    session_closed,
    /// A session ended otherwise: `key`, `fence`, `reason`, `since_renewal`.
    /// Each lock held under it gets its own `lost`.
    session_lost,
    /// This client, as a contender, ended another holder's session that had
    /// stood still for its lease: `key` (that session's item).
    session_killed,
};

/// The kind's name, e.g. "heartbeat_failed".
std::string_view to_string(lock_event_kind kind) noexcept;

/// What a lock client reports to lock_client_options::on_event: what a user
/// would log about the locks and sessions it holds.
struct lock_event {
    /// What happened.
    lock_event_kind kind = lock_event_kind::acquired;
    /// The lock's key, or the session item's for a session event.
    lock_key key{};
    /// The fence of the grant (a session's epoch); zero when the kind has
    /// none.
    std::uint64_t fence = 0;
    /// Why a lease or session ended; loss_reason::none for other kinds.
    loss_reason reason = loss_reason::none;
    /// What a request failed with (heartbeat_failed, throttled).
    error_code error{};
    /// Time left before the local deadline when the event happened
    /// (heartbeat_failed, danger).
    std::chrono::milliseconds remaining{};
    /// How long before the end the lease was last renewed, by its grant or a
    /// heartbeat (lost, session_lost): close to the lease means heartbeats
    /// had been failing for all of it; short means it was taken away.
    std::chrono::milliseconds since_renewal{};
};

/// One line for a log, e.g. `lost lock "job" fence=3 reason=expired
/// since_renewal=19.612s`.
std::string to_string(const lock_event& e);

}  // namespace dynalock
