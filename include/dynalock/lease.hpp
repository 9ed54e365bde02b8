#pragma once

/// \file
/// A held lock.

#include <dynalock/error.hpp>
#include <dynalock/lock_record.hpp>
#include <dynalock/loss_reason.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/append.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace dynalock {

namespace detail {
struct lease_state;
class lease_driver;
}  // namespace detail

/// A held lock: what `lock_client::async_acquire` grants. Copies share one
/// lease. While it is held, the client heartbeats it (unless automatic
/// heartbeats are off); when it ends, `reason()` says why and
/// `async_wait_lost` completes.
///
/// The local deadline is `t_send + lease − safety_margin`, `t_send` taken
/// before the last successful granting or heartbeat write was sent: past it
/// the lease counts as lost whatever the server holds. Work that must be
/// exclusive checks `remaining()` — or runs in `lock_client::async_with_lease`,
/// which cancels it on loss — and writes downstream with the `fence()`.
///
/// Thread safety: use a lease on its client's executor only.
class lease {
public:
    /// The clock of deadlines: local, monotonic, never compared with other
    /// machines' clocks.
    using clock = std::chrono::steady_clock;

    /// An empty lease (see empty()).
    lease() = default;

    /// The lock's key (an empty key for an empty lease).
    const lock_key& key() const;
    /// The owner name written with the grant: lock_client_options::owner.
    const std::string& owner() const;
    /// The fencing token of this grant: strictly greater than every earlier
    /// grant of this key (by any client of this library). 0 for an empty lease.
    std::uint64_t fence() const;
    /// The record version of the last successful write.
    const std::string& record_version() const;
    /// The lease written with the grant or last heartbeat; for a lock held
    /// under a session, the session's.
    std::chrono::milliseconds duration() const;
    /// The lock's payload as the last successful write left it (the grant's
    /// acquire_options::data, a heartbeat's new data, or what was stored
    /// before); empty when the item has none.
    const std::optional<bytes>& data() const;
    /// The session this lock is held under (its key and epoch), if any: the
    /// lease then lasts as long as the session.
    const std::optional<session_ref>& bound_session() const;

    /// When the granting write was sent: the earliest moment this holder
    /// could have been granted, the start of its validity.
    clock::time_point acquired_at() const;
    /// The local deadline now (later with each successful heartbeat).
    clock::time_point deadline() const;
    /// Time left before the local deadline (zero or negative once passed);
    /// zero once a release of this lease, or of the session it is held
    /// under, was asked for: that write may free the lock for others before
    /// its answer comes back.
    clock::duration remaining() const;
    /// `remaining()` is zero or negative: the negation of held().
    bool expired() const { return remaining() <= clock::duration::zero(); }
    /// Still held: not ended, no release of it (or of its session) asked for,
    /// and before the local deadline.
    bool held() const;
    /// Why it ended, or loss_reason::none while held.
    loss_reason reason() const;

    /// Completes when the lease ends, with the reason. Signature:
    /// `void(error_code, loss_reason)`; errc::invalid_argument on an empty
    /// lease. Per-operation cancellation (terminal): stops waiting
    /// (operation_aborted); the lease is unaffected.
    template <boost::asio::completion_token_for<void(error_code, loss_reason)> Token =
                  boost::asio::deferred_t>
    auto async_wait_lost(Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code, loss_reason)>(
            [s = state_](auto handler) {
                if (!s) {
                    complete_here(std::move(handler), make_error_code(errc::invalid_argument),
                                  loss_reason::none);
                } else if (!has_client(s)) {
                    complete_here(std::move(handler), error_code{}, lease(s).reason());
                } else {
                    start_wait_lost(s, std::move(handler));
                }
            },
            token);
    }

    /// Heartbeats now instead of at the next period, optionally with a new
    /// lease length or payload that later heartbeats keep. Completes after a
    /// heartbeat sent after this call succeeded (errc::lease_lost if the lease
    /// ended first). Signature: `void(error_code)`; errc::invalid_argument on
    /// an empty lease, or for a new lease outside the bounds of
    /// lock_client_options::lease. Per-operation cancellation: not supported (the
    /// heartbeat is the lease's, not the caller's).
    template <boost::asio::completion_token_for<void(error_code)> Token = boost::asio::deferred_t>
    auto async_heartbeat(std::optional<std::chrono::milliseconds> new_lease = {},
                         std::optional<bytes> new_data = {}, Token&& token = {}) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [s = state_](auto handler, auto lease, auto data) {
                if (!s) {
                    complete_here(std::move(handler), make_error_code(errc::invalid_argument));
                } else if (!has_client(s)) {
                    complete_here(std::move(handler), make_error_code(errc::lease_lost));
                } else {
                    start_heartbeat(s, lease, std::move(data), std::move(handler));
                }
            },
            token, new_lease, std::move(new_data));
    }
    /// Heartbeats now, keeping lease length and payload: as the overload
    /// above with neither.
    template <boost::asio::completion_token_for<void(error_code)> Token>
    auto async_heartbeat(Token&& token) {
        return async_heartbeat(std::nullopt, std::nullopt, std::forward<Token>(token));
    }

    /// No grant behind this handle: default-constructed or moved from. Every
    /// operation on an empty lease completes with errc::invalid_argument, on
    /// the handler's associated executor (an empty lease has no client, hence
    /// no executor of its own), as do operations on a lease whose client was
    /// destroyed. An empty lease is never held.
    bool empty() const noexcept { return state_ == nullptr; }

private:
    friend class lock_client;
    friend class session;
    friend class detail::lease_driver;
    explicit lease(std::shared_ptr<detail::lease_state> s) : state_(std::move(s)) {}

    // Completes an operation that needs no client: on an empty lease, or on
    // one that ended with its client destroyed. There is no executor but
    // the handler's.
    template <class Handler, class... Args>
    static void complete_here(Handler handler, Args... args) {
        boost::asio::post(boost::asio::append(std::move(handler), args...));
    }
    static bool has_client(const std::shared_ptr<detail::lease_state>& s);
    static void start_wait_lost(
        const std::shared_ptr<detail::lease_state>& s,
        boost::asio::any_completion_handler<void(error_code, loss_reason)> h);
    static void start_heartbeat(const std::shared_ptr<detail::lease_state>& s,
                                std::optional<std::chrono::milliseconds> lease,
                                std::optional<bytes> data,
                                boost::asio::any_completion_handler<void(error_code)> h);

    std::shared_ptr<detail::lease_state> state_;
};

}  // namespace dynalock
