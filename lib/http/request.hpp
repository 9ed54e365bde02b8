#pragma once

#include <dynalock/error.hpp>

#include <boost/container/small_vector.hpp>

#include <string>
#include <string_view>
#include <utility>

namespace dynalock::http {

/// A header's name and value, viewing strings the caller keeps alive until the
/// exchange that sends it completes: the head is serialized from them, so a
/// request repeated with fresh signatures allocates nothing for its headers.
using header = std::pair<std::string_view, std::string_view>;

/// An HTTP/1.1 request (a POST unless `method` says otherwise). `headers` carries everything the
/// server needs (Host, X-Amz-Date, Authorization, Content-Type, ...) except Content-Length, which
/// the pool adds from `body`. Connection persistence is HTTP/1.1's default.
struct request {
    /// DynamoDB and STS take POST; instance metadata and container credentials
    /// need GET and PUT.
    std::string_view method = "POST";
    std::string target = "/";
    /// Inline room for a signed DynamoDB request's six: no allocation per request.
    boost::container::small_vector<header, 6> headers{};
    std::string body{};
    /// Whether a second delivery does no harm. When false, the pool never
    /// sends the request again after a reused connection closed without an
    /// answer: the server may have applied it before closing (a lost answer
    /// looks the same as a stale connection), and the caller must resolve that.
    bool repeatable = true;
};

/// Writes the request line and header block of `req` (ending in the blank line)
/// into `out`, reusing its capacity. Fails with `errc::invalid_argument` for a
/// target or header that would corrupt the message (CR, LF, NUL, a name that is
/// not an HTTP token) and for Content-Length, Transfer-Encoding or Connection
/// supplied by the caller, since framing and persistence belong to the pool.
error_code serialize_head(const request& req, std::string& out);

}  // namespace dynalock::http
