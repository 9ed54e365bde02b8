// The response parser, fed each case whole and one byte at a time (the bytes a
// slow socket delivers), and where Beast's parser accepts the same bytes, held
// to what Beast's parser makes of them: it served the pool before this one.
#include <http/response_parser.hpp>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <string_view>

namespace dynalock::http {
namespace {

namespace bhttp = boost::beast::http;

struct parsed {
    error_code ec;  // the parser's own code, not yet mapped by the pool
    unsigned status = 0;
    std::string body;
    bool keep_alive = false;
    std::size_t left_over = 0;  // bytes after the response, not the parser's
    response res;
};

// The pool's loop: keep what the parser did not use, add what arrives, and at
// the end of the input let the connection end.
parsed parse(std::string_view bytes, std::size_t piece, std::size_t body_limit = 1 << 20) {
    parsed out;
    response_parser parser(out.res, body_limit);
    std::string buffer;
    std::size_t offset = 0;
    for (;;) {
        if (!buffer.empty()) {
            const std::size_t used = parser.put(buffer, out.ec);
            EXPECT_LE(used, buffer.size());
            buffer.erase(0, used);
            if (out.ec && out.ec != bhttp::error::need_more) {
                return out;
            }
            if (!parser.is_done()) {
                EXPECT_EQ(out.ec, bhttp::error::need_more);
            }
            out.ec = {};
            if (parser.is_done()) {
                break;
            }
        }
        if (offset == bytes.size()) {
            parser.put_eof(out.ec);
            if (out.ec) {
                return out;
            }
            break;
        }
        const std::size_t n = std::min(piece, bytes.size() - offset);
        buffer.append(bytes.substr(offset, n));
        offset += n;
    }
    out.status = out.res.result_int();
    out.body = out.res.body();
    out.keep_alive = parser.keep_alive();
    out.left_over = buffer.size() + (bytes.size() - offset);
    return out;
}

// Beast's parser on the whole input, as the pool used it: nullopt when it fails.
std::optional<parsed> parse_with_beast(std::string_view bytes) {
    bhttp::response_parser<bhttp::string_body> parser;
    parser.eager(true);
    boost::system::error_code ec;
    const std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    if (ec == bhttp::error::need_more || (!ec && !parser.is_done())) {
        parser.put_eof(ec);
    }
    if (ec || !parser.is_done()) {
        return std::nullopt;
    }
    parsed out;
    out.status = parser.get().result_int();
    out.body = parser.get().body();
    out.keep_alive = parser.keep_alive();
    out.left_over = bytes.size() - used;
    return out;
}

// Parses `bytes` whole and byte by byte, expects both to agree, and returns
// the whole parse.
parsed parse_both_ways(std::string_view bytes) {
    parsed whole = parse(bytes, bytes.size() + 1);
    const parsed bytewise = parse(bytes, 1);
    EXPECT_EQ(whole.ec, bytewise.ec) << whole.ec.message() << " / " << bytewise.ec.message();
    if (!whole.ec) {
        EXPECT_EQ(bytewise.status, whole.status);
        EXPECT_EQ(bytewise.body, whole.body);
        EXPECT_EQ(bytewise.keep_alive, whole.keep_alive);
    }
    return whole;
}

// A response both parsers accept, with the same result.
parsed expect_ok(std::string_view bytes) {
    parsed ours = parse_both_ways(bytes);
    EXPECT_FALSE(ours.ec) << ours.ec.message();
    const std::optional<parsed> beast = parse_with_beast(bytes);
    EXPECT_TRUE(beast.has_value()) << "Beast refuses what this parser accepts";
    if (beast) {
        EXPECT_EQ(ours.status, beast->status);
        EXPECT_EQ(ours.body, beast->body);
        EXPECT_EQ(ours.keep_alive, beast->keep_alive);
        EXPECT_EQ(ours.left_over, beast->left_over);
    }
    return ours;
}

void expect_refused(std::string_view bytes, bhttp::error wanted) {
    const parsed ours = parse_both_ways(bytes);
    EXPECT_EQ(ours.ec, wanted) << ours.ec.message();
}

TEST(http_response_parser, reads_a_dynamodb_answer_with_its_fields) {
    const parsed p = expect_ok(
        "HTTP/1.1 200 OK\r\n"
        "Server: Server\r\n"
        "x-amzn-RequestId: ABC123\r\n"
        "x-amz-crc32: 2745614147\r\n"
        "Content-Type: application/x-amz-json-1.0\r\n"
        "Content-Length: 2\r\n"
        "Date: Tue, 08 Dec 2026 00:00:00 GMT\r\n"
        "\r\n"
        "{}");
    EXPECT_EQ(p.status, 200u);
    EXPECT_EQ(p.body, "{}");
    EXPECT_TRUE(p.keep_alive);
    EXPECT_EQ(p.res["X-AMZN-REQUESTID"], "ABC123");
    EXPECT_EQ(p.res["x-amz-crc32"], "2745614147");
    EXPECT_EQ(p.res.field("Content-Length"), "2");
    EXPECT_EQ(p.res.field("Missing"), std::nullopt);
}

TEST(http_response_parser, trims_values_and_keeps_empty_ones) {
    const parsed p = expect_ok(
        "HTTP/1.1 400 Bad Request\r\nX-A: \t spaced out \t\r\nX-Empty:\r\n"
        "X-Text: caf\xc3\xa9 \"quoted\"\r\nContent-Length: 0\r\n\r\n");
    EXPECT_EQ(p.status, 400u);
    EXPECT_EQ(p.res["x-a"], "spaced out");
    EXPECT_EQ(p.res.field("x-empty"), "");
    EXPECT_EQ(p.res["x-text"], "caf\xc3\xa9 \"quoted\"");
}

TEST(http_response_parser, accepts_an_empty_reason_and_any_three_digits) {
    EXPECT_EQ(expect_ok("HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n").status, 200u);
    EXPECT_EQ(expect_ok("HTTP/1.1 000 X\r\nContent-Length: 0\r\n\r\n").status, 0u);
    EXPECT_EQ(expect_ok("HTTP/1.1 999 X\r\nContent-Length: 0\r\n\r\n").status, 999u);
}

TEST(http_response_parser, decodes_chunked_bodies_with_extensions_and_trailers) {
    const parsed p = expect_ok(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n"
        "0\r\nX-Trailer: t\r\n\r\n");
    EXPECT_EQ(p.body, "Wikipedia in\r\n\r\nchunks.");
    EXPECT_TRUE(p.keep_alive);
    EXPECT_EQ(p.res["x-trailer"], "t");
    EXPECT_EQ(expect_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n"
                        "1\r\na\r\n0\r\n\r\n")
                  .body,
              "a");
}

TEST(http_response_parser, trailer_fields_are_kept_but_frame_nothing) {
    // Beast lets a trailer's Connection decide persistence; here a trailer
    // is only fields the caller may read.
    const parsed p = parse_both_ways(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n"
        "Connection: close\r\nContent-Length: 9\r\n\r\n");
    EXPECT_FALSE(p.ec);
    EXPECT_EQ(p.body, "a");
    EXPECT_TRUE(p.keep_alive);
    EXPECT_EQ(p.res["connection"], "close");
}

TEST(http_response_parser, a_body_without_framing_ends_with_the_connection) {
    const parsed p = expect_ok("HTTP/1.1 200 OK\r\n\r\nuntil the end");
    EXPECT_EQ(p.body, "until the end");
    EXPECT_FALSE(p.keep_alive);
    const parsed gzip = expect_ok("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz");
    EXPECT_EQ(gzip.body, "zz");
    EXPECT_FALSE(gzip.keep_alive);
}

TEST(http_response_parser, statuses_without_a_body_end_at_the_header) {
    for (const std::string_view bytes : {"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
                                         "HTTP/1.1 304 Not Modified\r\n\r\n"}) {
        const parsed p = expect_ok(bytes);
        EXPECT_EQ(p.body, "");
        EXPECT_TRUE(p.keep_alive) << bytes;
    }
    // Switching protocols: the connection is no longer HTTP's.
    const parsed upgrade = parse_both_ways("HTTP/1.1 101 Switching Protocols\r\n\r\n");
    EXPECT_FALSE(upgrade.ec);
    EXPECT_EQ(upgrade.status, 101u);
    EXPECT_FALSE(upgrade.keep_alive);
}

TEST(http_response_parser, interim_responses_are_skipped_for_the_final_one) {
    // Beast stops at the first; the final response is the answer.
    const parsed p = parse_both_ways(
        "HTTP/1.1 100 Continue\r\nX-Interim: 1\r\nConnection: close\r\n\r\n"
        "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    EXPECT_FALSE(p.ec);
    EXPECT_EQ(p.status, 200u);
    EXPECT_EQ(p.body, "ok");
    EXPECT_TRUE(p.keep_alive);
    EXPECT_EQ(p.res.field("X-Interim"), std::nullopt);
    EXPECT_EQ(p.res.field("Link"), std::nullopt);
    EXPECT_EQ(p.res["content-length"], "2");
    expect_refused("HTTP/1.1 100 Continue\r\n\r\n", bhttp::error::partial_message);
}

TEST(http_response_parser, leaves_bytes_after_the_response_to_the_caller) {
    const parsed p =
        expect_ok("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 200 OK\r\n\r\n");
    EXPECT_EQ(p.body, "abc");
    EXPECT_EQ(p.left_over, 19u);
}

TEST(http_response_parser, persistence_follows_version_and_connection) {
    EXPECT_FALSE(expect_ok("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\n"
                           "Content-Length: 0\r\n\r\n")
                     .keep_alive);
    EXPECT_FALSE(expect_ok("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").keep_alive);
    EXPECT_TRUE(expect_ok("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n")
                    .keep_alive);
    EXPECT_FALSE(
        expect_ok("HTTP/1.1 200 OK\r\nProxy-Connection: close\r\nContent-Length: 0\r\n\r\n")
            .keep_alive);
    // HTTP/1.0 has no transfer codings: such framing is faulty (Beast keeps it).
    const parsed coded = parse_both_ways(
        "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
        "1\r\na\r\n0\r\n\r\n");
    EXPECT_FALSE(coded.ec);
    EXPECT_EQ(coded.body, "a");
    EXPECT_FALSE(coded.keep_alive);
}

TEST(http_response_parser, refuses_malformed_status_lines) {
    expect_refused("HTTP/2.0 200 OK\r\n\r\n", bhttp::error::bad_version);
    expect_refused("HTTP/1.2 200 OK\r\n\r\n", bhttp::error::bad_version);
    expect_refused("HTTPS/1.1 200 OK\r\n\r\n", bhttp::error::bad_version);
    expect_refused("HTTP/1.1  200 OK\r\n\r\n", bhttp::error::bad_status);
    expect_refused("HTTP/1.1 2x0 OK\r\n\r\n", bhttp::error::bad_status);
    expect_refused("HTTP/1.1 2000 OK\r\n\r\n", bhttp::error::bad_status);
    expect_refused("HTTP/1.1 200\r\n\r\n", bhttp::error::bad_version);
    expect_refused("HTTP/1.1 200 O\x01K\r\n\r\n", bhttp::error::bad_reason);
    expect_refused("HTTP/1.1 200 O\nK\r\n\r\n", bhttp::error::bad_reason);
}

TEST(http_response_parser, refuses_malformed_fields) {
    expect_refused("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", bhttp::error::bad_field);
    expect_refused("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", bhttp::error::bad_field);
    expect_refused("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", bhttp::error::bad_field);
    expect_refused("HTTP/1.1 200 OK\r\nName : x\r\n\r\n", bhttp::error::bad_field);
    expect_refused("HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n", bhttp::error::bad_value);
    expect_refused("HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n", bhttp::error::bad_value);
    expect_refused("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n", bhttp::error::bad_value);
    // Folded lines, which Beast joins: no service of ours sends them.
    expect_refused("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n", bhttp::error::bad_field);
}

TEST(http_response_parser, refuses_ambiguous_framing) {
    expect_refused("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
                   bhttp::error::bad_content_length);
    expect_refused("HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
                   bhttp::error::bad_content_length);
    expect_refused("HTTP/1.1 200 OK\r\nContent-Length: 1 1\r\n\r\nx",
                   bhttp::error::bad_content_length);
    expect_refused("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
                   bhttp::error::bad_content_length);
    expect_refused(
        "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        bhttp::error::bad_transfer_encoding);
    expect_refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
                   bhttp::error::bad_transfer_encoding);
    expect_refused(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        bhttp::error::bad_transfer_encoding);
    expect_refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\xff\r\n\r\n0\r\n\r\n",
                   bhttp::error::bad_transfer_encoding);
    // Where a coding with parameters ends, parsers disagree (Beast reads this
    // one to the end of the connection).
    expect_refused(
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip;q=1, chunked\r\n\r\n1\r\na\r\n0\r\n\r\n",
        bhttp::error::bad_transfer_encoding);
    expect_refused("HTTP/1.1 200 OK\r\nConnection: close OK\r\nContent-Length: 0\r\n\r\n",
                   bhttp::error::bad_value);
}

TEST(http_response_parser, refuses_malformed_chunks) {
    const std::string head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    expect_refused(head + "x\r\n", bhttp::error::bad_chunk);
    expect_refused(head + "1x\r\na\r\n0\r\n\r\n", bhttp::error::bad_chunk);
    expect_refused(head + "1\r\nab\r\n0\r\n\r\n", bhttp::error::bad_chunk);
    expect_refused(head + "1\r\naXY1\r\nb\r\n0\r\n\r\n", bhttp::error::bad_chunk);
    expect_refused(head + "1;\x01\r\na\r\n0\r\n\r\n", bhttp::error::bad_chunk);
    expect_refused(head + "10000000000000000\r\n", bhttp::error::bad_chunk);
    expect_refused(head + std::string(response_parser::header_limit, '1'), bhttp::error::bad_chunk);
    expect_refused(head + "0\r\nBad Trailer\r\n\r\n", bhttp::error::bad_field);
}

TEST(http_response_parser, cut_short_is_a_partial_message_and_nothing_is_end_of_stream) {
    expect_refused("", bhttp::error::end_of_stream);
    expect_refused("HTTP/1.1 200 OK\r\nContent-Le", bhttp::error::partial_message);
    expect_refused("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc",
                   bhttp::error::partial_message);
    expect_refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n",
                   bhttp::error::partial_message);
    expect_refused("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n",
                   bhttp::error::partial_message);
}

TEST(http_response_parser, enforces_the_body_and_header_limits) {
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", 1000, 10).ec,
              bhttp::error::body_limit);
    EXPECT_FALSE(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789", 1000, 10).ec);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\n\r\n0123456789a", 1000, 10).ec, bhttp::error::body_limit);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\n\r\n0123456789a", 1, 10).ec, bhttp::error::body_limit);
    EXPECT_FALSE(parse("HTTP/1.1 200 OK\r\n\r\n0123456789", 1, 10).ec);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
                    1000, 10)
                  .ec,
              bhttp::error::body_limit);
    const std::string filler = "X-Filler: " + std::string(response_parser::header_limit, 'x');
    expect_refused("HTTP/1.1 200 OK\r\n" + filler + "\r\n\r\n", bhttp::error::header_limit);
    // Just under the limit, the whole block included.
    const std::string start = "HTTP/1.1 200 OK\r\nX: ";
    const std::string end = "\r\nContent-Length: 0\r\n\r\n";
    const std::string largest =
        start + std::string(response_parser::header_limit - start.size() - end.size(), 'x') + end;
    EXPECT_FALSE(parse_both_ways(largest).ec);
    expect_refused(start + std::string(response_parser::header_limit, 'x') + end,
                   bhttp::error::header_limit);
}

TEST(http_response_parser, a_reused_response_keeps_nothing_of_the_last) {
    response res;
    {
        response_parser parser(res, 100);
        error_code ec;
        parser.put("HTTP/1.1 500 X\r\nA: 1\r\nContent-Length: 3\r\n\r\nabc", ec);
        ASSERT_TRUE(parser.is_done());
    }
    response_parser parser(res, 100);
    EXPECT_FALSE(parser.got_some());
    EXPECT_EQ(res.result_int(), 0u);
    EXPECT_EQ(res.field("A"), std::nullopt);
    EXPECT_EQ(res.body(), "");
}

}  // namespace
}  // namespace dynalock::http
