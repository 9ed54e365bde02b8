#include <http/request.hpp>
#include <http/transport_error.hpp>

#include <dynalock/http_options.hpp>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include <gtest/gtest.h>

namespace dynalock::http {
namespace {

TEST(http_request, serializes_head_with_content_length) {
    request req;
    req.headers = {{"Host", "dynamodb.eu-west-1.amazonaws.com"},
                   {"X-Amz-Date", "20260101T000000Z"}};
    req.body = "{}";
    std::string head = "stale contents";
    ASSERT_FALSE(serialize_head(req, head));
    EXPECT_EQ(head,
              "POST / HTTP/1.1\r\nHost: dynamodb.eu-west-1.amazonaws.com\r\n"
              "X-Amz-Date: 20260101T000000Z\r\nContent-Length: 2\r\n\r\n");
}

TEST(http_request, values_keep_tabs_and_non_ascii_bytes) {
    request req;
    req.headers = {{"X-Note", "a\tb \xc3\xa9"}};
    std::string head;
    ASSERT_FALSE(serialize_head(req, head));
    EXPECT_EQ(head, "POST / HTTP/1.1\r\nX-Note: a\tb \xc3\xa9\r\nContent-Length: 0\r\n\r\n");
}

TEST(http_request, rejects_what_would_corrupt_the_message) {
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"X-Evil", "a\r\nInjected: 1"},
        {"X-Evil", "a\nb"},
        {"X-Evil", std::string("a\0b", 3)},
        {"Bad Name", "v"},
        {"", "v"},
        {"Content-Length", "5"},
        {"transfer-encoding", "chunked"},
        {"CONNECTION", "close"},
        {"X:Y", "v"},
        {"X\x7f", "v"},
        {"\xffX", "v"},
        {"X-Evil", "a\rb"},
    };
    for (const auto& header : bad) {
        request req;
        req.headers = {header};
        std::string head;
        EXPECT_EQ(serialize_head(req, head), errc::invalid_argument) << header.first;
    }
    request bad_target;
    bad_target.target = "/ HTTP/1.0\r\nX: y";
    std::string head;
    EXPECT_EQ(serialize_head(bad_target, head), errc::invalid_argument);
}

// Values are looked at eight bytes at a time: CR, LF and NUL are refused
// wherever they fall in a word or in the bytes after the last whole one, and
// every other byte (tab, DEL, 0x80 and up) passes.
TEST(http_request, a_forbidden_byte_is_refused_at_every_offset) {
    for (std::size_t length = 1; length <= 24; ++length) {
        for (const char filler : {'a', '\t', '\x7f', '\x80', '\xff'}) {
            const std::string value(length, filler);  // headers are views
            request clean;
            clean.headers = {{"X-Value", value}};
            std::string head;
            EXPECT_FALSE(serialize_head(clean, head)) << length << " bytes of " << int(filler);
            for (std::size_t at = 0; at < length; ++at) {
                for (const char forbidden : {'\r', '\n', '\0'}) {
                    std::string bad = value;
                    bad[at] = forbidden;
                    request req;
                    req.headers = {{"X-Value", bad}};
                    EXPECT_EQ(serialize_head(req, head), errc::invalid_argument)
                        << "byte " << int(forbidden) << " at " << at << " of " << length;
                }
            }
        }
    }
}

TEST(http_request, options_validation_names_the_bad_field) {
    EXPECT_FALSE(http_options{}.validate());
    EXPECT_NE(http_options{.max_connections = 0}.validate().value_or("").find("max_connections"),
              std::string::npos);
    EXPECT_NE(http_options{.max_response_body_bytes = 0}.validate().value_or("").find(
                  "max_response_body_bytes"),
              std::string::npos);
    EXPECT_TRUE(http_options{.connect_timeout = std::chrono::milliseconds(0)}.validate());
    EXPECT_TRUE(http_options{.idle_timeout = std::chrono::milliseconds(-1)}.validate());
    // Beyond the bounds, each message names the field and its limit.
    EXPECT_EQ(http_options{.max_connections = 65537}.validate(),
              "http_options.max_connections must be from 1 to 65536");
    EXPECT_EQ(http_options{.max_response_body_bytes = std::size_t{1} << 31}.validate(),
              "http_options.max_response_body_bytes must be from 1 to 1073741824 (1 GiB)");
    EXPECT_EQ(http_options{.connect_timeout = std::chrono::hours(2)}.validate(),
              "http_options.connect_timeout must be positive and at most 1 hour");
    EXPECT_EQ(http_options{.idle_timeout = std::chrono::milliseconds::max()}.validate(),
              "http_options.idle_timeout must be positive and at most 1 hour");
    EXPECT_FALSE((http_options{.max_connections = 65536,
                               .max_response_body_bytes = std::size_t{1} << 30,
                               .connect_timeout = std::chrono::hours(1),
                               .idle_timeout = std::chrono::hours(1)}
                      .validate()));
}

TEST(http_request, maps_transport_errors_by_step) {
    namespace bhttp = boost::beast::http;
    using boost::asio::error::connection_refused;
    using boost::asio::error::connection_reset;
    EXPECT_EQ(to_dynalock_error(boost::beast::error::timeout, exchange_step::read), errc::timeout);
    EXPECT_EQ(to_dynalock_error(boost::beast::error::timeout, exchange_step::connect),
              errc::timeout);
    EXPECT_EQ(to_dynalock_error(connection_refused, exchange_step::connect), errc::connect_failed);
    EXPECT_EQ(to_dynalock_error(boost::asio::error::host_not_found, exchange_step::resolve),
              errc::connect_failed);
    EXPECT_EQ(to_dynalock_error(boost::asio::error::eof, exchange_step::handshake),
              errc::tls_failed);
    EXPECT_EQ(to_dynalock_error(connection_reset, exchange_step::write), errc::connection_lost);
    EXPECT_EQ(to_dynalock_error(bhttp::error::partial_message, exchange_step::read),
              errc::connection_lost);
    EXPECT_EQ(to_dynalock_error(bhttp::error::end_of_stream, exchange_step::read),
              errc::connection_lost);
    EXPECT_EQ(to_dynalock_error(bhttp::error::bad_version, exchange_step::read),
              errc::malformed_response);
    EXPECT_EQ(to_dynalock_error(bhttp::error::body_limit, exchange_step::read),
              errc::response_too_large);
    EXPECT_EQ(to_dynalock_error(boost::asio::error::operation_aborted, exchange_step::read),
              boost::asio::error::operation_aborted);
    EXPECT_TRUE(is_stale_connection_error(bhttp::error::end_of_stream));
    EXPECT_TRUE(is_stale_connection_error(connection_reset));
    EXPECT_FALSE(is_stale_connection_error(boost::beast::error::timeout));
    EXPECT_FALSE(is_stale_connection_error(bhttp::error::partial_message));
}

}  // namespace
}  // namespace dynalock::http
