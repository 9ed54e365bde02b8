#pragma once

#include <dynalock/error.hpp>

#include <string>
#include <utility>
#include <vector>

namespace dynalock::http {

/// An HTTP/1.1 POST. `headers` carries everything the server needs (Host,
/// X-Amz-Date, Authorization, Content-Type, ...) except Content-Length, which the
/// pool adds from `body`. Connection persistence is HTTP/1.1's default.
struct request {
    std::string target = "/";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

/// Writes the request line and header block of `req` (ending in the blank line)
/// into `out`, reusing its capacity. Fails with `errc::invalid_argument` for a
/// target or header that would corrupt the message (CR, LF, NUL, a name that is
/// not an HTTP token) and for Content-Length, Transfer-Encoding or Connection
/// supplied by the caller, since framing and persistence belong to the pool.
error_code serialize_head(const request& req, std::string& out);

}  // namespace dynalock::http
