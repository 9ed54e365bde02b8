#pragma once

/// \file
/// Sessions: one heartbeat for many locks.

#include <dynalock/error.hpp>
#include <dynalock/lease.hpp>
#include <dynalock/lock_record.hpp>
#include <dynalock/loss_reason.hpp>

#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace dynalock {

/// How `lock_client::async_open_session` names a session's item.
struct session_options {
    /// The item's key is this prefix and 32 random hex digits: unique to
    /// this session, never used again.
    std::string prefix = "session/";
    /// The sort key value of the item, for a table with a sort key (which
    /// then needs one); unset for a table without.
    std::optional<std::string> sort{};
};

/// What a contender sees of another holder's session
/// (lock_client::async_observe_session).
enum class session_status {
    /// Its record version changed within its lease, as timed by the observer.
    live,
    /// Its record version stood still for at least its lease, timed by the
    /// observer from the read that first showed it: its holder no longer
    /// believes it, and an acquire of a lock held under it ends it.
    stood_still,
    /// Released, gone, or at another epoch: the locks granted under it are
    /// free for the taking.
    ended,
};

/// What a session did so far, and what it holds now.
struct session_stats {
    /// Locks held under it now.
    std::size_t held_locks = 0;
    /// Heartbeats of the session that renewed it.
    std::uint64_t heartbeats = 0;
};

/// A session: one heartbeat keeps every lock acquired under it alive, as an
/// etcd lease or a ZooKeeper session does (docs/sessions.md). It is itself a
/// lease on an item of the lock table, heartbeated like any lock; a lock held
/// under it records the session and its epoch, has no heartbeats of its own
/// and is believed until the session's local deadline. When the session ends
/// (expired, stolen — ended by a contender that saw it stand still for its
/// lease —, released by `lock_client::async_close_session`, or its client
/// closed), every lock held under it ends with the same reason and the work
/// bound to them is cancelled. Closing a session is one write, whatever the
/// number of locks.
///
/// Copies share one session. An empty session (default-constructed) is none.
/// Thread safety: as its client's.
class session {
public:
    /// The clock of deadlines, as lease's.
    using clock = lease::clock;

    /// An empty session (see empty()).
    session() = default;

    /// The key of the session's item.
    const lock_key& key() const { return lease_.key(); }
    /// The session's epoch: the fence of its item, which locks held under it
    /// record.
    std::uint64_t epoch() const { return lease_.fence(); }
    /// The local deadline of the session, and so of every lock held under it.
    clock::time_point deadline() const { return lease_.deadline(); }
    /// Time left before the local deadline, as lease::remaining(): zero once
    /// its close was asked for.
    clock::duration remaining() const { return lease_.remaining(); }
    /// Still held, as lease::held(): so are the locks held under it.
    bool held() const { return lease_.held(); }
    /// Why it ended, or loss_reason::none while held.
    loss_reason reason() const { return lease_.reason(); }
    /// No session behind this handle: default-constructed or moved from.
    /// Operations on it complete with errc::invalid_argument, as those of an
    /// empty lease.
    bool empty() const noexcept { return lease_.empty(); }
    /// What the session did so far, and what it holds now; zeros for an
    /// empty session.
    session_stats stats() const;

    /// Completes when the session ends, with the reason (as
    /// lease::async_wait_lost).
    template <boost::asio::completion_token_for<void(error_code, loss_reason)> Token =
                  boost::asio::deferred_t>
    auto async_wait_lost(Token&& token = {}) {
        return lease_.async_wait_lost(std::forward<Token>(token));
    }

    /// Heartbeats the session now (as lease::async_heartbeat).
    template <boost::asio::completion_token_for<void(error_code)> Token = boost::asio::deferred_t>
    auto async_heartbeat(Token&& token = {}) {
        return lease_.async_heartbeat(std::forward<Token>(token));
    }

    /// The lease on the session's item.
    const dynalock::lease& item_lease() const noexcept { return lease_; }

    /// The same session: copies of one handle (two empty sessions are equal).
    friend bool operator==(const session& a, const session& b) noexcept {
        return a.lease_.state_ == b.lease_.state_;
    }

private:
    friend class lock_client;
    explicit session(dynalock::lease l) : lease_(std::move(l)) {}

    dynalock::lease lease_;
};

}  // namespace dynalock
