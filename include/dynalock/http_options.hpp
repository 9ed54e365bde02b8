#pragma once

/// \file
/// Settings of the HTTP connection pool.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace dynalock {

/// Settings of the HTTP connection pool that carries every DynamoDB request.
/// An aggregate: set what you need with designated initializers.
struct http_options {
    /// Upper bound on open connections (idle, busy and connecting) per endpoint.
    /// Requests beyond it wait for a free connection, within their own deadline.
    /// 1 to 65536.
    std::size_t max_connections = 64;

    /// A response whose body is larger fails with `errc::response_too_large`.
    /// DynamoDB answers are at most a few MiB (a 1 MiB Query page plus overhead).
    /// 1 byte to 1 GiB.
    std::size_t max_response_body_bytes = 16 * 1024 * 1024;

    /// Bound on DNS resolution + TCP connect + TLS handshake of a new connection
    /// (the request's own deadline applies too, whichever comes first); at most 1 hour.
    std::chrono::milliseconds connect_timeout{5000};

    /// A pooled connection idle for longer is closed instead of reused. Below the
    /// servers' own idle limits (dynalite: 5 s) so reuse rarely meets a closed socket.
    /// At most 1 hour.
    std::chrono::milliseconds idle_timeout{4000};

    /// PEM file of extra trusted CA certificates, used in addition to the system
    /// trust store. Empty: the system store only.
    std::string extra_ca_file{};

    /// Verify the server certificate and host name. Turn off only for tests.
    bool verify_peer = true;

    /// Why these options cannot be used, or nullopt when they can.
    std::optional<std::string> validate() const;
};

}  // namespace dynalock
