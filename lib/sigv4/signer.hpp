#pragma once

#include <dynalock/credentials.hpp>
#include <dynalock/error.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

// Not public: the DynamoDB client and the STS provider sign every request
// themselves; users supply credentials, never signatures.

/// AWS Signature Version 4, header-based signing (no presigned URLs, no SigV4a).
/// Pure code: a request described by views goes in, header values come out.
namespace dynalock::sigv4 {

/// One HTTP header as it will be sent. Names may have any case and may repeat
/// (repeated values are signed joined by `,`, in the order given).
struct header {
    std::string_view name{};
    std::string_view value{};
};

/// The parts of an HTTP request that SigV4 signs, as views: nothing is copied.
struct request {
    std::string_view method{};  ///< e.g. "POST"
    /// The path as sent on the wire, already percent-encoded, e.g. "/".
    std::string_view path{};
    /// The query string as sent, without the leading '?'; empty for none.
    std::string_view query{};
    /// The request's headers; must contain `host` (see `host_header_value`). Must not
    /// contain `x-amz-date`, `x-amz-security-token` or `authorization`: the signer
    /// produces those. Hop-by-hop headers (`connection`, `keep-alive`, `te`, ...),
    /// `user-agent`, `expect` and `x-amzn-trace-id` are not signed, as the AWS SDKs do,
    /// because proxies may change them; every other header is.
    std::span<const header> headers{};
    /// The exact body bytes.
    std::string_view payload{};
};

struct options {
    /// Remove `.`/`..` segments and empty segments from the path before signing, as
    /// every service except S3 expects. The path is percent-encoded once more in
    /// either case ("double encoding"), so S3's single-encoding mode is not offered.
    bool normalize_path = true;
};

/// The headers to add to the request. Keep one around and pass it to every `sign`
/// call: its strings keep their capacity, so steady-state signing makes no allocation
/// of its own (OpenSSL 3.0 still allocates when it restarts a digest or MAC).
struct auth_headers {
    std::string x_amz_date{};            ///< `X-Amz-Date`, ISO 8601 basic: YYYYMMDDTHHMMSSZ
    std::string x_amz_security_token{};  ///< `X-Amz-Security-Token`; empty: send no such header
    std::string authorization{};         ///< `Authorization`
};

/// The `host` header value for a connection to `host`:`port`: lowercase, IPv6
/// literals in brackets, and the port omitted when it is the scheme's default
/// (443 with TLS, 80 without). The HTTP layer sends exactly this value and passes
/// it to the signer, so both agree.
std::string host_header_value(std::string_view host, std::uint16_t port, bool tls);

/// Signs requests for one region and service.
///
/// The signing key, derived from (secret key, date, region, service), is cached, so a
/// signature costs one HMAC and two SHA-256 passes (payload, canonical request) until
/// the date or the secret changes.
///
/// \par Thread safety
/// Distinct objects: safe. Shared object: unsafe. A signer keeps its scratch buffers
/// and key cache unlocked so the hot path stays cheap; use one signer per thread (or
/// per io_context running on one thread), or serialize calls.
///
/// \par Errors
/// `errc::invalid_argument` for a request that cannot be signed (no `host` header, a
/// header the signer itself produces, an empty or malformed header name, a path not
/// starting with '/'); `errc::credentials_unavailable` for an empty access key id or
/// secret key. The outputs are unspecified on error. OpenSSL failing internally (not a
/// property of the input) throws std::runtime_error. A moved-from signer may only be
/// assigned to or destroyed.
class signer {
public:
    signer(std::string region, std::string service, options opts = {});
    signer(signer&&) noexcept;
    signer& operator=(signer&&) noexcept;
    ~signer();

    /// Computes the headers that authenticate `req` made with `creds` at `time`. The
    /// session token, when present, is signed too.
    error_code sign(const request& req, const credentials& creds,
                    std::chrono::system_clock::time_point time, auth_headers& out);

    /// The canonical request `sign` would hash (exposed for tests and debugging).
    error_code canonical_request(const request& req, const credentials& creds,
                                 std::chrono::system_clock::time_point time, std::string& out);

    /// The string to sign `sign` would HMAC (exposed for tests and debugging).
    error_code string_to_sign(const request& req, const credentials& creds,
                              std::chrono::system_clock::time_point time, std::string& out);

    const std::string& region() const noexcept { return region_; }
    const std::string& service() const noexcept { return service_; }

private:
    struct state;  // OpenSSL contexts, key cache and scratch buffers

    std::string region_;
    std::string service_;
    options options_;
    std::unique_ptr<state> state_;
};

}  // namespace dynalock::sigv4
