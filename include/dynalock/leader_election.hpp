#pragma once

/// \file
/// Leader election: campaign, observe, resign; the term is the fence.

#include <dynalock/error.hpp>
#include <dynalock/lease.hpp>
#include <dynalock/lock_client.hpp>
#include <dynalock/lock_record.hpp>
#include <dynalock/loss_reason.hpp>
#include <dynalock/store.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace dynalock {

namespace detail {
class time_source;
}  // namespace detail

/// How a `leader_election` campaigns, with client-go's three timings
/// (docs/leader-election.md). An aggregate: `leader_election` rejects
/// invalid values.
///
/// The timings map onto the lock client (`lock_options()`): the lease is
/// `lease_duration`; heartbeats and the polls of a campaign or an observer
/// come every `retry_period`; the safety margin is `lease_duration −
/// renew_deadline`, so a leader stops believing it leads `renew_deadline`
/// after sending its last renewal that succeeded, while a contender takes
/// over only after the leader's record stood still for `lease_duration`.
struct leader_election_options {
    /// The leadership: the key of its item in the lock table.
    lock_key name{};
    /// Who campaigns, written as the item's owner; empty: the host name plus
    /// a random suffix.
    std::string identity{};
    /// How long a crashed leader keeps the others out (client-go's
    /// LeaseDuration). At most max_lease.
    std::chrono::milliseconds lease_duration{std::chrono::seconds(15)};
    /// How long a leader keeps leading without a successful renewal (client-go's
    /// RenewDeadline); below lease_duration.
    std::chrono::milliseconds renew_deadline{std::chrono::seconds(10)};
    /// Between renewals of a leader, and between reads of a campaign or an
    /// observer (client-go's RetryPeriod); renew_deadline must exceed 1.2 ×
    /// this, lease_duration twice this.
    std::chrono::milliseconds retry_period{std::chrono::seconds(2)};
    /// Deadline of each single read or grant (renewals use the remaining
    /// renew deadline instead); at most 1 hour.
    std::chrono::milliseconds request_timeout{std::chrono::seconds(5)};

    /// Why these options cannot be used, or nullopt when they can: client-go's
    /// rules (lease_duration > renew_deadline > 1.2 × retry_period, all
    /// positive), then the lock client's on the mapped options.
    std::optional<std::string> validate() const;
    /// The lock client options these timings map onto (see above).
    lock_client_options lock_options() const;
};

/// Who leads, as an observer sees it: the owner of the leadership's item and
/// its term, the fence of the grant.
struct leader_info {
    /// The leader's identity (`leader_election_options::identity`).
    std::string identity{};
    /// The term: strictly greater for every new leader of this leadership.
    std::uint64_t term = 0;

    /// Same identity and term.
    friend bool operator==(const leader_info&, const leader_info&) = default;
};

/// A won campaign: this process leads until the leadership is lost (its
/// renewals failed for `renew_deadline`, or another took it) or resigned.
/// Leader-only work runs in `leader_election::async_while_leading`, which
/// cancels it on loss, and fences its writes with `term()`.
///
/// Copies share one leadership. Thread safety: as its election's.
class leadership {
public:
    /// The clock of deadlines: the steady clock.
    using clock = lease::clock;

    /// No leadership (see empty()).
    leadership() = default;

    /// The term, the fence of the grant: pass it with every leader-only write
    /// so that storage can refuse a deposed leader (docs/leader-election.md).
    std::uint64_t term() const { return lease_.fence(); }
    /// Our identity, as written in the item.
    const std::string& identity() const { return lease_.owner(); }
    /// Still leading: not lost, not resigned, before the local deadline.
    bool held() const { return lease_.held(); }
    /// Time left before the local deadline (the renew deadline after the
    /// last successful renewal); zero once lost or resigned.
    clock::duration remaining() const { return lease_.remaining(); }
    /// Why it ended, or loss_reason::none while held.
    loss_reason reason() const { return lease_.reason(); }
    /// No leadership behind this handle: default-constructed.
    bool empty() const noexcept { return lease_.empty(); }
    /// The lease that holds the leadership's item.
    const dynalock::lease& lease() const noexcept { return lease_; }

    /// Completes when the leadership ends, with the reason (as
    /// lease::async_wait_lost). Per-operation cancellation (terminal): stops
    /// waiting; the leadership is unaffected.
    template <boost::asio::completion_token_for<void(error_code, loss_reason)> Token =
                  boost::asio::deferred_t>
    auto async_wait_lost(Token&& token = {}) {
        return lease_.async_wait_lost(std::forward<Token>(token));
    }

private:
    friend class leader_election;
    explicit leadership(dynalock::lease l) : lease_(std::move(l)) {}

    dynalock::lease lease_;
};

/// Leader election on a lock table: campaign for a named leadership, run
/// leader-only work while leading, resign, and observe who leads without
/// campaigning. One item per leadership, held with a plain lease renewed every
/// retry period; at most one leader believes it leads at any moment, without
/// synchronized clocks (docs/leader-election.md).
///
/// All operations complete on the election's executor (the store's). The
/// store must outlive the election's work: `async_close` ends it.
class leader_election {
public:
    /// The store's executor, on which every operation completes.
    using executor_type = boost::asio::any_io_executor;

    /// Throws std::system_error (errc::invalid_argument) naming the option
    /// when the options are invalid.
    leader_election(store& s, leader_election_options options);
    /// Same, with time from `time`: for the library's own scripted tests.
    leader_election(store& s, leader_election_options options,
                    std::shared_ptr<detail::time_source> time);
    /// Ends everything locally at once, as destroying a lock_client does: a
    /// leadership held ends (loss_reason::client_closed, bound work
    /// cancelled) without a resignation, so a successor waits for its lease
    /// (async_close resigns first); campaigns and observers complete with
    /// errc::client_closed.
    ~leader_election();
    leader_election(const leader_election&) = delete;
    leader_election& operator=(const leader_election&) = delete;

    /// The executor every operation completes on.
    executor_type get_executor() const;
    /// The options as used: `identity` filled in when it was left empty.
    const leader_election_options& options() const noexcept;

    /// Campaigns until elected: at once when the leadership is free or
    /// resigned; when another leads, once its record has stood still for
    /// lease_duration (read every retry_period). Retries what can heal
    /// (throttling, a server or network fault) after a retry period, for as
    /// long as it takes; fails on what cannot (e.g. errc::resource_not_found
    /// for a missing table, errc::malformed_item). Signature:
    /// `void(error_code, leadership)`.
    ///
    /// Per-operation cancellation (terminal): stops campaigning at once; a
    /// grant in flight at that moment may still apply, and its item then
    /// expires after one lease (nobody renews it).
    template <boost::asio::completion_token_for<void(error_code, leadership)> Token =
                  boost::asio::deferred_t>
    auto async_campaign(Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, leadership)>(
            [this](auto handler) { start_campaign(std::move(handler)); }, token);
    }

    /// Resigns: releases the leadership's item, so a contender takes it at
    /// its next read instead of after a lease. From the call on, `l` is no
    /// longer held() and work bound to it is cancelled. Completes as
    /// lock_client::async_release does (errc::lease_lost if it had been lost
    /// already). Signature: `void(error_code)`. Per-operation cancellation:
    /// not supported (a resignation, once asked for, is carried out).
    template <boost::asio::completion_token_for<void(error_code)> Token = boost::asio::deferred_t>
    auto async_resign(leadership l, Token&& token = {}) {
        return locks().async_release(std::move(l.lease_), std::forward<Token>(token));
    }

    /// Runs leader-only `work` while `l` is held: if the leadership is lost
    /// first, `work` gets terminal cancellation; when `work` finishes, the
    /// leadership is resigned. Completes as lock_client::async_with_lease
    /// does: signature `void(std::exception_ptr, error_code)`, default token
    /// `use_awaitable`, errc::lease_lost when the leadership ended on the way.
    ///
    /// Per-operation cancellation (terminal): `work` gets terminal
    /// cancellation; once it has finished, the leadership is resigned.
    template <class Token = boost::asio::use_awaitable_t<>>
    auto async_while_leading(leadership l, boost::asio::awaitable<void> work, Token&& token = {}) {
        return locks().async_with_lease(std::move(l.lease_), std::move(work),
                                        std::forward<Token>(token));
    }

    /// Observes the leadership without campaigning: completes when the
    /// leader differs from `known` — at once if it already does — with the
    /// leader as now seen, or nullopt when there is none (never taken,
    /// resigned, or its record stood still for its lease: the leader
    /// crashed). Reads the item every retry_period (one consistent read per
    /// period). Signature: `void(error_code, std::optional<leader_info>)`.
    ///
    /// Per-operation cancellation (terminal): stops reading at once
    /// (operation_aborted).
    template <boost::asio::completion_token_for<void(error_code, std::optional<leader_info>)>
                  Token = boost::asio::deferred_t>
    auto async_wait_leader_change(std::optional<leader_info> known, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, std::optional<leader_info>)>(
            [this](auto handler, std::optional<leader_info> known) {
                start_wait_leader_change(std::move(known), std::move(handler));
            },
            token, std::move(known));
    }

    /// Stops campaigns and observers (they complete with
    /// errc::client_closed), resigns a leadership held and completes when
    /// that is done. Later operations fail with errc::client_closed.
    /// Signature: `void(error_code)`.
    template <boost::asio::completion_token_for<void(error_code)> Token = boost::asio::deferred_t>
    auto async_close(Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this](auto handler) { start_close(std::move(handler)); }, token);
    }

private:
    lock_client& locks();
    void start_campaign(boost::asio::any_completion_handler<void(error_code, leadership)> h);
    void start_wait_leader_change(
        std::optional<leader_info> known,
        boost::asio::any_completion_handler<void(error_code, std::optional<leader_info>)> h);
    void start_close(boost::asio::any_completion_handler<void(error_code)> h);

    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace dynalock
