#include <http/transport_error.hpp>

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace dynalock::http {
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

bool is_http_parse_error(error_code ec) {
    return ec.category() == make_error_code(beast::http::error::bad_version).category();
}

}  // namespace

error_code to_dynalock_error(error_code ec, exchange_step step) {
    if (!ec || ec == asio::error::operation_aborted) {
        return ec;
    }
    if (ec == beast::error::timeout) {
        return errc::timeout;
    }
    switch (step) {
        case exchange_step::resolve:
        case exchange_step::connect:
            return errc::connect_failed;
        case exchange_step::handshake:
            return errc::tls_failed;
        case exchange_step::write:
            return errc::connection_lost;
        case exchange_step::read:
            break;
    }
    if (ec == beast::http::error::body_limit || ec == beast::http::error::header_limit ||
        ec == beast::http::error::buffer_overflow) {
        return errc::response_too_large;
    }
    // end_of_stream (EOF before the response) and partial_message (EOF inside
    // it) are Beast's words for a connection that went away, not bad bytes.
    if (is_http_parse_error(ec) && ec != beast::http::error::end_of_stream &&
        ec != beast::http::error::partial_message) {
        return errc::malformed_response;
    }
    return errc::connection_lost;
}

bool is_stale_connection_error(error_code ec) {
    return ec == beast::http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
           ec == asio::error::connection_aborted || ec == asio::error::not_connected ||
           ec == asio::ssl::error::stream_truncated;
}

}  // namespace dynalock::http
