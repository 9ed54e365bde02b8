#pragma once

#include "credential_providers/async_credentials_provider.hpp"

#include <dynalock/credentials.hpp>
#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace dynalock::aws {

using wall_clock = std::chrono::system_clock;

struct credentials_cache_options {
    /// Temporary credentials are refreshed this long before they expire, but
    /// never earlier than half their lifetime, so that short-lived ones are not
    /// refreshed on every use.
    std::chrono::seconds refresh_margin{300};
    /// Bound on one fetch from the provider (the whole chain when it is one).
    std::chrono::milliseconds fetch_timeout{10000};
    /// After a failed refresh while the old credentials are still valid, the
    /// next attempt waits this long, so that a broken endpoint is not hammered.
    std::chrono::seconds retry_interval{10};
    /// The wall clock expirations are compared with; injected by tests.
    std::function<wall_clock::time_point()> now = &wall_clock::now;
    /// Told of each fetch's outcome, from the executor's queue (never inside
    /// `get`); not after the cache is destroyed.
    std::function<void(const credentials_event&)> on_fetch{};
};

/// Where credentials fetched at `fetched_at` stand at `now`.
enum class credentials_freshness {
    fresh,        ///< use them
    refresh_due,  ///< use them, and start a refresh
    expired,      ///< unusable: wait for a refresh
};

/// When credentials fetched at `fetched_at` should be refreshed: `margin`
/// before their expiration, or half-way through their lifetime if that is
/// later. Long-term credentials (no expiration) never are: returns nullopt.
std::optional<wall_clock::time_point> refresh_time(const credentials& creds,
                                                   wall_clock::time_point fetched_at,
                                                   wall_clock::duration margin);

credentials_freshness assess_freshness(const credentials& creds, wall_clock::time_point fetched_at,
                                       wall_clock::time_point now, wall_clock::duration margin);

struct credentials_cache_state;

/// Hands out the current credentials of one provider (usually the whole
/// chain) to any number of concurrent callers, fetching them only when needed:
/// - the first `get` fetches; later ones return the cached credentials at once;
/// - once temporary credentials are due for refresh (see `refresh_time`), a
///   `get` starts one background refresh and still returns the valid ones;
/// - a failed refresh keeps the old credentials while they are valid and is
///   retried after `retry_interval`;
/// - once they have expired, callers wait for the one refresh in flight,
///   which the fetch timeout bounds.
///
/// Threading: not thread-safe; the cache and its callers run on the single
/// thread (or strand) of `executor`, as the HTTP pool does.
///
/// Lifetime: the cache may be destroyed while a refresh or a `get` is in
/// flight; they keep what they use alive and finish on their own.
class credentials_cache {
public:
    credentials_cache(boost::asio::any_io_executor executor,
                      std::unique_ptr<async_credentials_provider> provider,
                      credentials_cache_options options = {});
    ~credentials_cache();
    credentials_cache(const credentials_cache&) = delete;
    credentials_cache& operator=(const credentials_cache&) = delete;

    /// Fills `out` with credentials valid now. When there are none and the
    /// refresh fails: errc::credentials_unavailable (errc::invalid_config for
    /// a configuration mistake) with the provider's reason in `diag.message`.
    ///
    /// Per-operation cancellation: terminal, completing with
    /// `operation_aborted`; a refresh it was waiting for goes on for the others.
    boost::asio::awaitable<error_code> get(credentials& out, diagnostics& diag);

    /// Reports no more fetches (credentials_cache_options::on_fetch), also
    /// of a refresh still in flight: what the hook refers to is going away.
    void stop_reporting() noexcept;

    /// The cached credentials when they are valid now, else null (then `get`
    /// waits for them). Starts a background refresh when one is due, as `get`
    /// does. Without a coroutine or a copy: for the request path, which signs
    /// with them at once. The pointer is valid until the caller next suspends
    /// (a refresh replaces what it points to).
    const credentials* valid_now();

private:
    std::shared_ptr<credentials_cache_state> state_;
};

}  // namespace dynalock::aws
