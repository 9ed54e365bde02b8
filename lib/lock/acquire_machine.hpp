#pragma once

// Acquiring a lock, sans-io: the decisions of docs/design.md as a state machine.
// The shell performs each action and feeds back what happened, with the
// steady-clock time it happened at; the machine never reads a clock itself.
//
// The rule that makes expiry safe without synchronized clocks: a held lock is
// taken only after the same record version has been seen for longer than the
// lease stored in it, timed from when the read that saw it *returned*. The
// takeover write is conditioned on that version, so the write itself is the
// final observation.
//
// A grant that applied but left an item that is not a well-formed lock item
// (an attribute the grant does not set is wrong) cannot be handed out, and
// must not stay held by nobody for a whole lease: it is released at once,
// conditioned on the record version it wrote, and the acquire fails saying so.

#include "lock/session_end.hpp"

#include <dynalock/error.hpp>
#include <dynalock/store.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace dynalock::lock {

using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

/// A session item as a contender sees it: the item (absent when there is
/// none) and since when its record version has been seen (local steady clock,
/// from when the first read showing it returned).
struct session_view {
    std::optional<lock_record> record{};
    clock::time_point since{};
};

/// A record version seen on a held lock, and since when (local steady clock).
struct observation {
    std::string record_version{};
    milliseconds lease{};
    clock::time_point since{};
};

struct acquire_params {
    lock_key key{};
    std::string owner{};
    milliseconds lease{};
    /// Between reads while waiting for a holder's lease to pass.
    milliseconds poll_period{};
    /// How long to wait in all; nullopt: the lease stored in the item when it
    /// is first seen held, plus one poll period.
    std::optional<milliseconds> budget{};
    /// false: try once — take the lock only if it is free, released, or known
    /// expired from `known` — and never wait.
    bool wait = true;
    /// What an earlier acquire saw of this lock (the observation cache).
    std::optional<observation> known{};
    /// Deadline of each request from when it is sent.
    milliseconds request_timeout{};
    data_change data_action = data_change::keep;
    bytes data{};
    attribute_map extra{};
    bool require_existing = false;
    /// Take a released lock only with its record version as seen (no blind
    /// take of "whatever is released now").
    bool consistent_released = false;
    /// Hold the lock under this session (docs/sessions.md): the grant names
    /// it, and the lock has no lease of its own.
    std::optional<session_ref> session{};
    /// The item is a session's (opening one).
    bool session_item = false;
    /// Sessions this client knows have ended: a lock held under one is
    /// taken by the first grant, as a free one.
    std::vector<session_ref> ended_sessions{};
};

struct acquire_action {
    enum class kind {
        write,  ///< send `write` with deadline `until`
        read,   ///< read `write.key` consistently with deadline `until`
        /// read the session item `write.key` (the holder's session) and call
        /// on_session; a view read within a poll period may be reused unless
        /// `fresh`
        read_session,
        wait,         ///< wake the machine (on_wake) at `until`
        granted,      ///< done: `record` holds the lock; the lease counts from `sent_at`
        not_granted,  ///< done: `ec` = errc::lock_not_granted; `record` = the holder, when known
        failed,       ///< done: `ec` says why
    };
    kind type = kind::failed;
    lock_write write{};
    clock::time_point until{};
    lock_record record{};
    clock::time_point sent_at{};
    bool fresh = false;
    error_code ec{};
    /// With `failed`: what the caller should be told beyond `ec` (which lock,
    /// which attribute, what became of a grant that applied), or empty.
    std::string message{};

    bool done() const noexcept { return type >= kind::granted; }
};

class acquire_machine {
public:
    /// `new_version` makes a fresh, unguessable record version per write.
    acquire_machine(acquire_params params, std::function<std::string()> new_version);

    acquire_action start(clock::time_point now);
    /// The outcome of the last `write` action.
    acquire_action on_write(clock::time_point now, error_code ec, const write_result& result);
    /// The outcome of the last `read` action.
    acquire_action on_read(clock::time_point now, error_code ec,
                           const std::optional<lock_record>& record);
    /// The time of the last `wait` action has come.
    acquire_action on_wake(clock::time_point now);
    /// The outcome of the last `read_session` action.
    acquire_action on_session(clock::time_point now, error_code ec, const session_view& view);

    /// What the machine last saw of a holder, for the observation cache.
    const std::optional<observation>& observed() const noexcept { return observed_; }
    /// The holder's session, once the machine found it ended (absent,
    /// released, at another epoch, or ended by it): for the client to name it
    /// in later grants.
    const std::optional<session_ref>& ended_session() const noexcept { return ended_session_; }

private:
    acquire_action write_grant(clock::time_point now, write_condition condition,
                               std::string expected_version);
    acquire_action read(clock::time_point now);
    acquire_action wait_or_give_up(clock::time_point now);
    acquire_action on_current(clock::time_point now, const std::optional<lock_record>& current);
    acquire_action withdraw_grant(clock::time_point now, const lock_record& left);
    acquire_action send_withdrawal(clock::time_point now);
    acquire_action on_withdrawal(clock::time_point now, error_code ec);
    acquire_action finish(acquire_action::kind kind, error_code ec, std::string message = {});
    acquire_action read_session(clock::time_point now, bool fresh);
    acquire_action on_kill(clock::time_point now, error_code ec, const write_result& result);
    bool orphaned(const session_view& view) const;
    bool out_of_time(clock::time_point now) const;

    acquire_params p_;
    std::function<std::string()> new_version_;
    std::optional<observation> observed_;
    std::optional<lock_record> holder_;
    std::optional<clock::time_point> give_up_at_;
    clock::time_point sent_at_{};
    std::string pending_version_;
    bool resolving_ = false;  // reading to learn whether an ambiguous write applied
    // Set while releasing a grant that applied but left an item that is not a
    // lock item (nobody could hold it): the message to fail with once done.
    std::optional<std::string> withdrawing_;
    int immediate_retries_ = 0;
    // The holder's lock is held under a session: the lock as read (its
    // version is what a takeover is conditioned on) and the session's view.
    std::optional<lock_record> bound_holder_;
    std::optional<session_view> session_;
    bool killing_ = false;  // ending the holder's session, which has stood still
    std::optional<session_ref> ended_session_;
};

}  // namespace dynalock::lock
