#pragma once

#include <dynalock/credentials.hpp>
#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <boost/asio/awaitable.hpp>

#include <chrono>

namespace dynalock::aws {

/// A source of credentials that may have to wait for them: a process, an HTTP
/// endpoint, STS. The chain and the cache speak only this interface; the
/// synchronous sources are adapted to it (see `credential_chain`).
class async_credentials_provider {
public:
    virtual ~async_credentials_provider() = default;

    /// Fills `out`, finishing before `deadline` whatever the source does (an
    /// endpoint that never answers ends in errc::timeout). When the source is
    /// simply not configured, fails with errc::credentials_unavailable and the
    /// reason in `diag.message`, so a chain moves on; any other error means the
    /// source was configured and failed, and ends the search.
    ///
    /// Per-operation cancellation: terminal; nothing is left half done.
    virtual boost::asio::awaitable<error_code> fetch(
        credentials& out, diagnostics& diag, std::chrono::steady_clock::time_point deadline) = 0;
};

}  // namespace dynalock::aws
