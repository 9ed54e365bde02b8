#pragma once

#include <dynalock/diagnostics.hpp>
#include <dynalock/error.hpp>

#include <cstdint>
#include <string>
#include <string_view>

// Not public: users name endpoints as URLs (`client_options::endpoint_url`,
// the AWS environment); the client parses them.

namespace dynalock::aws {

/// Where to connect: the parsed form of an endpoint URL.
struct endpoint {
    bool tls = true;
    std::string host{};  ///< a DNS name or IP address; IPv6 literals without brackets
    std::uint16_t port = 443;

    friend bool operator==(const endpoint&, const endpoint&) = default;
};

/// Parses `http[s]://host[:port][/]`. Rejects other schemes, userinfo, an empty
/// host, a port outside 1..65535, and any path, query or fragment: DynamoDB is
/// always served at `/`. Fails with errc::invalid_endpoint and says why in
/// `diag.message`.
error_code parse_endpoint(std::string_view url, endpoint& out, diagnostics& diag);

/// The value of the HTTP `Host` header (and of the SigV4 `host` header) for an
/// endpoint: the port is left out when it is the scheme's default, IPv6
/// literals are bracketed.
std::string host_header(const endpoint& ep);

/// A URL of a credentials endpoint (container or instance metadata), which
/// unlike a DynamoDB endpoint has a path.
struct metadata_url {
    aws::endpoint endpoint;
    std::string target;  ///< path and query, "/" at least
};

/// Splits `http[s]://host[:port][/path[?query]]`. Fails with
/// errc::invalid_endpoint, naming `setting` (where the URL came from).
error_code parse_metadata_url(std::string_view url, std::string_view setting, metadata_url& out,
                              diagnostics& diag);

}  // namespace dynalock::aws
