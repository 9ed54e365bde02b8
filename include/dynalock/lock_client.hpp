#pragma once

/// \file
/// The lock client: acquires, holds and releases leases on a store.

#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>
#include <dynalock/lease.hpp>
#include <dynalock/lock_client_stats.hpp>
#include <dynalock/lock_event.hpp>
#include <dynalock/lock_record.hpp>
#include <dynalock/session.hpp>
#include <dynalock/store.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dynalock {

namespace detail {
class time_source;
}  // namespace detail

/// How a lock client holds its leases. An aggregate: set what you need with
/// designated initializers; `lock_client` rejects invalid combinations.
struct lock_client_options {
    /// Who we are in `ownerName`; empty: the host name plus a random suffix.
    std::string owner{};
    /// The lease written with every grant and heartbeat; at most max_lease (7 days).
    std::chrono::milliseconds lease{std::chrono::seconds(20)};
    /// Between heartbeats; the lease must be at least twice this (three times
    /// or more leaves room for a failed heartbeat and its retry).
    std::chrono::milliseconds heartbeat_period{std::chrono::seconds(5)};
    /// Subtracted from the holder's local deadline: the bound on clock-rate
    /// drift and scheduling delay between holder and contenders.
    std::chrono::milliseconds safety_margin{std::chrono::milliseconds(500)};
    /// Between reads while waiting for a held lock; at most 7 days.
    std::chrono::milliseconds poll_period{std::chrono::milliseconds(500)};
    /// Deadline of each single request of an acquire (heartbeats and releases
    /// use the lease's remaining time instead); at most 1 hour.
    std::chrono::milliseconds request_timeout{std::chrono::seconds(5)};
    /// Pause after a heartbeat that failed without ambiguity (throttled,
    /// unreachable) before the next try, within the lease.
    std::chrono::milliseconds heartbeat_retry_delay{std::chrono::milliseconds(200)};
    /// A lock_event_kind::danger event comes this long before a lease's
    /// local deadline when no heartbeat has succeeded since; zero: never.
    std::chrono::milliseconds danger_zone{};
    /// Told what happens to this client's locks and sessions (acquired,
    /// released, lost, heartbeat failed, danger, throttled, sessions: see
    /// lock_event_kind), for logs and alerts. Called on the client's
    /// executor from its queue, never inside a client operation, so it may
    /// call into the client (e.g. release a lease); events still queued when
    /// the client is destroyed are dropped. Empty: no event is even built.
    std::function<void(const lock_event&)> on_event{};
    /// The bound on store requests of leases (heartbeats, releases) and of
    /// acquires in flight at once; match it to the store's connections
    /// (http_options::max_connections). Leases due go first: an acquire's
    /// request waits for a slot no lease needs, so taking more locks never
    /// starves the heartbeats of those held. Throttling halves the bound in
    /// use, each success adds one back. 1 to 65536.
    std::size_t max_in_flight = 64;
    /// Heartbeat every held lease by itself (else only lease::async_heartbeat).
    bool automatic_heartbeats = true;
    /// Release by deleting the item instead of marking it released (the
    /// default keeps the row, so the fence keeps counting up).
    bool delete_on_release = false;
    /// Locks whose holders were seen, remembered so that try_acquire can take
    /// a lock already known expired without waiting again (and as many
    /// sessions of holders). At most 10,000,000.
    std::size_t observation_cache_size = 1024;
    /// Acquire every lock under one session of this client (unless an
    /// acquire names another): opened at the first acquire, and again after
    /// it ends. One heartbeat then keeps every lock (docs/sessions.md).
    bool default_session = false;
    /// How the default session's item is named.
    session_options default_session_options{};

    /// Why these options cannot be used, or nullopt when they can.
    std::optional<std::string> validate() const;
};

/// Per-acquire choices.
struct acquire_options {
    /// How long to wait for a held lock (at most 7 days); empty: the lease
    /// stored in it plus a poll period.
    std::optional<std::chrono::milliseconds> wait{};
    /// Store this payload in `data` with the grant; empty: keep what is there
    /// (or see `remove_data`).
    std::optional<bytes> data{};
    /// Remove the payload stored in the item with the grant (not with `data`).
    bool remove_data = false;
    /// Take the lock only if its item exists already.
    bool require_existing = false;
    /// Take a released lock only through its record version as read, never
    /// blindly (no lost update of a concurrent grant's attributes).
    bool consistent_released = false;
    /// More attributes to write with the grant (not the lock's own).
    attribute_map extra{};
    /// If this client already holds the lock, return that lease.
    bool reentrant = false;
    /// Hold the lock under this session (of this client) instead of with a
    /// lease of its own; empty: the client's default session if it has that
    /// option, else none. Fails with errc::lease_lost when the session has
    /// ended, or when the grant comes back after the session's local
    /// deadline (the lock is then free for others at once).
    dynalock::session session{};
    /// When set, says why an acquire was refused (e.g. which key rule was
    /// broken) or who holds the lock (`message`, and `item` is not used).
    dynalock::diagnostics* diagnostics = nullptr;
};

/// How `lock_client::async_acquire_many` takes a set of locks.
struct acquire_many_options {
    /// Acquires in flight at once.
    std::size_t concurrency = 16;
    /// Wait for held locks as async_acquire does; else take only what needs
    /// no waiting, as async_try_acquire does.
    bool wait = false;
    /// Applied to every key (its `diagnostics` is not used: each refusal
    /// carries its own message).
    acquire_options each{};
};

/// What `lock_client::async_acquire_many` got: every key is in exactly one
/// of the two lists.
struct acquire_many_result {
    /// A key that was not granted, and why.
    struct refusal {
        lock_key key{};      ///< the key, as passed in
        error_code error{};  ///< as async_acquire would have completed, or operation_aborted
        /// Why, when there is more to say (e.g. "held by worker-2").
        std::string message{};
    };
    std::vector<lease> granted{};    ///< the leases granted, in no particular order
    std::vector<refusal> refused{};  ///< the keys not granted, in no particular order
};

/// Leases on a store: acquire, hold with heartbeats, release.
///
/// All operations complete on the client's executor (the store's); a client
/// and its leases must be used from that executor only. The store must
/// outlive the client's work: `async_close` ends it.
class lock_client {
public:
    /// The store's executor.
    using executor_type = boost::asio::any_io_executor;

    /// Throws std::system_error (errc::invalid_argument) naming the option
    /// when the options are invalid.
    lock_client(store& s, lock_client_options options = {});
    /// Same, with time (the clock and timers of acquires and heartbeats) from
    /// `time`: for the library's own scripted tests.
    lock_client(store& s, lock_client_options options, std::shared_ptr<detail::time_source> time);
    /// Ends every lease of this client at once with loss_reason::client_closed
    /// (bound work is cancelled, waiters complete), stops acquires in flight
    /// (they complete with errc::client_closed) and sends nothing more: the
    /// items expire after their lease. async_close first releases them.
    ~lock_client();
    lock_client(const lock_client&) = delete;
    lock_client& operator=(const lock_client&) = delete;

    /// The store's executor: every operation completes on it.
    executor_type get_executor() const;
    /// The options given to the constructor (`owner` filled in when it was
    /// empty).
    const lock_client_options& options() const noexcept;
    /// Counters of what the client did so far, and what it holds now.
    lock_client_stats stats() const;

    /// Acquires `key`: at once when it is free or released; when held, after
    /// its holder's record version stayed the same for longer than the lease
    /// stored with it (timed here), or fails with errc::lock_not_granted once
    /// the wait is over; with errc::malformed_item or errc::fence_exhausted
    /// when its item cannot be granted (acquire_options::diagnostics says
    /// which attribute, and what became of a grant that had applied). Its
    /// requests share lock_client_options::max_in_flight with the held
    /// leases and wait while leases due need the slots: one that finds no
    /// slot within request_timeout counts as a timeout (nothing was sent).
    /// Signature: `void(error_code, lease)`.
    ///
    /// Per-operation cancellation (terminal): stops waiting at once and sends
    /// nothing more; a grant in flight at that moment may still apply, and its
    /// item then expires after one lease (nobody heartbeats it).
    template <
        boost::asio::completion_token_for<void(error_code, lease)> Token = boost::asio::deferred_t>
    auto async_acquire(lock_key key, acquire_options opts = {}, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, lease)>(
            [this](auto handler, lock_key key, acquire_options opts) {
                start_acquire(std::move(key), std::move(opts), true, std::move(handler));
            },
            token, std::move(key), std::move(opts));
    }
    /// async_acquire with default acquire_options.
    template <boost::asio::completion_token_for<void(error_code, lease)> Token>
    auto async_acquire(lock_key key, Token&& token) {
        return async_acquire(std::move(key), acquire_options{}, std::forward<Token>(token));
    }

    /// Acquires `key` only if that needs no waiting: it is free, released, or
    /// its holder was already seen past its lease by an earlier acquire.
    /// Otherwise errc::lock_not_granted. Same signature and cancellation as
    /// async_acquire.
    template <
        boost::asio::completion_token_for<void(error_code, lease)> Token = boost::asio::deferred_t>
    auto async_try_acquire(lock_key key, acquire_options opts = {}, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, lease)>(
            [this](auto handler, lock_key key, acquire_options opts) {
                start_acquire(std::move(key), std::move(opts), false, std::move(handler));
            },
            token, std::move(key), std::move(opts));
    }
    /// async_try_acquire with default acquire_options.
    template <boost::asio::completion_token_for<void(error_code, lease)> Token>
    auto async_try_acquire(lock_key key, Token&& token) {
        return async_try_acquire(std::move(key), acquire_options{}, std::forward<Token>(token));
    }

    /// Acquires a set of keys, `concurrency` at a time, each as async_acquire
    /// (or async_try_acquire) would. Completes with success when every key
    /// was tried, whatever each got; with errc::invalid_argument (nothing
    /// tried) for duplicate keys or zero concurrency. A lease granted early
    /// that ended before the others were done (its session closed or lost)
    /// is refused with errc::lease_lost, not handed over. Signature:
    /// `void(error_code, acquire_many_result)`.
    ///
    /// Per-operation cancellation (terminal): acquires in flight stop as
    /// async_acquire's do, the rest are not tried (refused with
    /// operation_aborted), and the operation completes with operation_aborted
    /// and a result holding what was granted: those leases are the caller's.
    template <boost::asio::completion_token_for<void(error_code, acquire_many_result)> Token =
                  boost::asio::deferred_t>
    auto async_acquire_many(std::vector<lock_key> keys, acquire_many_options opts = {},
                            Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, acquire_many_result)>(
            [this](auto handler, std::vector<lock_key> keys, acquire_many_options opts) {
                start_acquire_many(std::move(keys), std::move(opts), std::move(handler));
            },
            token, std::move(keys), std::move(opts));
    }
    /// async_acquire_many with default acquire_many_options.
    template <boost::asio::completion_token_for<void(error_code, acquire_many_result)> Token>
    auto async_acquire_many(std::vector<lock_key> keys, Token&& token) {
        return async_acquire_many(std::move(keys), acquire_many_options{},
                                  std::forward<Token>(token));
    }

    /// Releases the lease (after a heartbeat in flight), optionally writing a
    /// last payload. From the call on, the lease is no longer held() and work
    /// bound to it gets terminal cancellation: the write may free the lock
    /// for others before its answer comes back. Completes with success once
    /// the item is released (or deleted, per options), with errc::lease_lost
    /// if the lease had ended otherwise. Signature: `void(error_code)`. Per-operation cancellation:
    /// not supported (a release, once asked for, is carried out).
    template <boost::asio::completion_token_for<void(error_code)> Token = boost::asio::deferred_t>
    auto async_release(lease l, std::optional<bytes> data = {}, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this](auto handler, lease l, std::optional<bytes> data) {
                start_release(std::move(l), std::move(data), std::move(handler));
            },
            token, std::move(l), std::move(data));
    }
    /// async_release keeping the payload as it is.
    template <boost::asio::completion_token_for<void(error_code)> Token>
    auto async_release(lease l, Token&& token) {
        return async_release(std::move(l), std::nullopt, std::forward<Token>(token));
    }

    /// The lock's item as it is (consistent read), without acquiring;
    /// absent when there is none; errc::malformed_item, with the record (its
    /// `malformed` says why), when the item is not a lock item. Signature:
    /// `void(error_code, std::optional<lock_record>)`. Cancellation: terminal.
    template <boost::asio::completion_token_for<void(error_code, std::optional<lock_record>)>
                  Token = boost::asio::deferred_t>
    auto async_get(lock_key key, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, std::optional<lock_record>)>(
            [this](auto handler, lock_key key) { start_get(std::move(key), std::move(handler)); },
            token, std::move(key));
    }

    /// Every lock item (all pages), or those of one partition key. Items that
    /// are not lock items are listed too, with `malformed` saying why.
    /// Signature: `void(error_code, std::vector<lock_record>)`. Cancellation: terminal.
    template <boost::asio::completion_token_for<void(error_code, std::vector<lock_record>)> Token =
                  boost::asio::deferred_t>
    auto async_list(std::optional<std::string> partition = {}, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, std::vector<lock_record>)>(
            [this](auto handler, std::optional<std::string> partition) {
                start_list(std::move(partition), std::move(handler));
            },
            token, std::move(partition));
    }
    /// async_list of every lock item.
    template <boost::asio::completion_token_for<void(error_code, std::vector<lock_record>)> Token>
    auto async_list(Token&& token) {
        return async_list(std::nullopt, std::forward<Token>(token));
    }

    /// Runs `work` while `l` is held: if the lease ends first (lost, or
    /// released by someone calling async_release or closing its session:
    /// then as soon as that is asked for), `work` gets terminal
    /// cancellation; when `work` finishes, the lease is released.
    ///
    /// Completes with success when the lease was held until `work` finished
    /// and was then released; with errc::lease_lost when it ended on the way;
    /// errc::invalid_argument for an empty lease. An exception `work` throws
    /// propagates (after the release, when the lease was still held), even
    /// when the lease was lost meanwhile: the caller learns what failed, and
    /// `l.reason()` says what became of the lease. Only the cancellation
    /// error (asio::error::operation_aborted) that the loss or the caller's
    /// cancellation caused is not rethrown.
    ///
    /// Completion signature: `void(std::exception_ptr, error_code)`, as with
    /// `co_spawn`. The default token is `use_awaitable`, the one exception to
    /// `deferred` in this library: Boost 1.81 cannot `co_await` a deferred
    /// operation whose signature starts with an exception_ptr
    /// (`as_tuple(deferred)` works).
    ///
    /// Per-operation cancellation (terminal): `work` gets terminal
    /// cancellation; when it has finished, the lease is released and the
    /// operation completes with operation_aborted (or the exception `work`
    /// threw, other than operation_aborted).
    template <class Token = boost::asio::use_awaitable_t<>>
    auto async_with_lease(lease l, boost::asio::awaitable<void> work, Token&& token = {}) {
        return boost::asio::co_spawn(get_executor(), run_with_lease(std::move(l), std::move(work)),
                                     std::forward<Token>(token));
    }

    /// Opens a session: takes a fresh session item (`opts.prefix` and a random
    /// name) and heartbeats it; acquires can then hold locks under it.
    /// Signature: `void(error_code, session)`. Per-operation cancellation
    /// (terminal): as async_acquire.
    template <boost::asio::completion_token_for<void(error_code, session)> Token =
                  boost::asio::deferred_t>
    auto async_open_session(session_options opts = {}, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, session)>(
            [this](auto handler, session_options opts) {
                start_open_session(std::move(opts), std::move(handler));
            },
            token, std::move(opts));
    }
    /// async_open_session with default session_options.
    template <boost::asio::completion_token_for<void(error_code, session)> Token>
    auto async_open_session(Token&& token) {
        return async_open_session(session_options{}, std::forward<Token>(token));
    }

    /// Closes a session with one write (its item marked released): every lock
    /// held under it ends (loss_reason::released) and is free for others at
    /// once. As with async_release, the session and its locks are no longer
    /// held() from the call on, and the work bound to them is cancelled
    /// then, not when the write is answered. Completes as async_release does. Signature:
    /// `void(error_code)`. Per-operation cancellation: not supported.
    template <boost::asio::completion_token_for<void(error_code)> Token = boost::asio::deferred_t>
    auto async_close_session(session s, Token&& token = {}) {
        return async_release(s.item_lease(), std::forward<Token>(token));
    }

    /// Observes another holder's session as a contender does, without
    /// writing: a consistent read of its item, shared with this client's
    /// acquires (a read within the last poll period serves them all), timed
    /// on this client's clock. How a group of workers learns which members
    /// are alive at the cost of reads only; an acquire of a lock held under a
    /// session seen `stood_still` then ends it with one write.
    /// Signature: `void(error_code, session_status)`. Cancellation: terminal.
    template <boost::asio::completion_token_for<void(error_code, session_status)> Token =
                  boost::asio::deferred_t>
    auto async_observe_session(session_ref s, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, session_status)>(
            [this](auto handler, session_ref s) {
                start_observe_session(std::move(s), std::move(handler));
            },
            token, std::move(s));
    }

    /// The default session (lock_client_options::default_session) as it is
    /// now; empty before the first acquire opens it.
    session default_session() const;

    /// Stops acquiring and heartbeating, releases every held lease (each then
    /// ends with loss_reason::client_closed) and completes when all of that is
    /// done. Later operations fail with errc::client_closed.
    /// Signature: `void(error_code)`.
    template <boost::asio::completion_token_for<void(error_code)> Token = boost::asio::deferred_t>
    auto async_close(Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this](auto handler) { start_close(std::move(handler)); }, token);
    }

private:
    void start_acquire(lock_key key, acquire_options opts, bool wait,
                       boost::asio::any_completion_handler<void(error_code, lease)> h);
    void start_acquire_many(
        std::vector<lock_key> keys, acquire_many_options opts,
        boost::asio::any_completion_handler<void(error_code, acquire_many_result)> h);
    void start_release(lease l, std::optional<bytes> data,
                       boost::asio::any_completion_handler<void(error_code)> h);
    void start_get(
        lock_key key,
        boost::asio::any_completion_handler<void(error_code, std::optional<lock_record>)> h);
    void start_list(
        std::optional<std::string> partition,
        boost::asio::any_completion_handler<void(error_code, std::vector<lock_record>)> h);
    void start_close(boost::asio::any_completion_handler<void(error_code)> h);
    void start_observe_session(
        session_ref s, boost::asio::any_completion_handler<void(error_code, session_status)> h);
    void start_open_session(session_options opts,
                            boost::asio::any_completion_handler<void(error_code, session)> h);
    boost::asio::awaitable<error_code> run_with_lease(lease l, boost::asio::awaitable<void> work);

    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace dynalock
