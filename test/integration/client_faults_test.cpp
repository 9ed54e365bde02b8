// The DynamoDB client against a scripted responder: answers no real server
// gives on demand (bad bytes, wrong CRC32, errors of our choosing, silence).
// Each test checks the error, the diagnostics and how many attempts were made.

#include "dynamodb/item_write.hpp"
#include "dynamodb/protocol.hpp"
#include "support/execute.hpp"
#include "support/scripted_http_server.hpp"

#include <dynalock/dynamodb_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <gtest/gtest.h>

#include <ctime>
#include <memory>

using namespace dynalock;
using namespace dynalock::dynamodb;
using test::scripted_reply;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

const std::string get_ok = R"({"Item":{"pk":{"S":"a"}}})";
const std::string update_ok = R"({"Attributes":{"fence":{"N":"3"}}})";

class client_faults : public ::testing::Test {
protected:
    client make_client(std::string url, http_options http = {}) {
        return client(io_.get_executor(),
                      client_options{.region = "us-east-1",
                                     .endpoint_url = std::move(url),
                                     .credentials = credentials{"AKIDEXAMPLE", "secret"},
                                     .http = http,
                                     .retry = {.max_attempts = 3,
                                               .base_delay = 1ms,
                                               .throttling_base_delay = 1ms,
                                               .seed = 42}});
    }

    template <class Req>
    std::tuple<error_code, response_t<Req>> exec(client& c, Req r,
                                                 std::chrono::milliseconds timeout = 5s) {
        return test::execute(
            io_, c, std::move(r),
            {.deadline = std::chrono::steady_clock::now() + timeout, .diagnostics = &diag_},
            timeout + 5s);
    }

    static get_item_request get() { return {.table_name = "table", .key = {{"pk", "a"}}}; }
    // As the lock store sends its requests: encoded by the caller.
    static encoded_request encoded_get() {
        return {.target = operation<get_item_request>::target,
                .body = R"({"TableName":"table","Key":{"pk":{"S":"a"}}})",
                .repeatable = true};
    }
    static update_item_request update() {
        return {.table_name = "table",
                .key = {{"pk", "a"}},
                .update_expression = "SET #f = :f",
                .condition_expression = "#o = :me",
                .expression_attribute_names = {{"#f", "fence"}, {"#o", "owner"}},
                .expression_attribute_values = {{":f", number{"3"}}, {":me", "me"}},
                .return_values = return_values::all_new};
    }

    asio::io_context io_;
    test::scripted_http_server server_{io_};
    diagnostics diag_;
};

TEST_F(client_faults, success_fills_request_id_and_signs_the_request) {
    server_.push(scripted_reply::http(200, get_ok, "x-amzn-RequestId: req-1\r\n"));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, get());
    ASSERT_FALSE(ec) << ec.message() << " " << diag_.message;
    ASSERT_TRUE(r.item);
    EXPECT_EQ(diag_.request_id, "req-1");
    ASSERT_EQ(server_.requests().size(), 1u);
    const auto& req = server_.requests()[0];
    EXPECT_EQ(req["X-Amz-Target"], "DynamoDB_20120810.GetItem");
    EXPECT_EQ(req["Content-Type"], "application/x-amz-json-1.0");
    EXPECT_EQ(req["Host"], server_.url().substr(7));
    EXPECT_TRUE(req["Authorization"].starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"));
    EXPECT_NE(req["Authorization"].find("/us-east-1/dynamodb/aws4_request"), std::string::npos);
}

TEST_F(client_faults, non_json_body_is_malformed_response) {
    server_.push(scripted_reply::http(200, "<html>not json</html>"));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, update());
    EXPECT_EQ(ec, errc::malformed_response);
    EXPECT_FALSE(diag_.message.empty());
}

TEST_F(client_faults, unknown_error_type_keeps_the_servers_words_in_diagnostics) {
    server_.push(scripted_reply::http(
        400,
        R"({"__type":"com.amazonaws.dynamodb.v20120810#BrandNewException","message":"m\u0001"})"));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, get());
    EXPECT_EQ(ec, errc::unknown_service_error);
    EXPECT_EQ(diag_.aws_type, "BrandNewException");
    EXPECT_EQ(diag_.http_status, 400u);
    EXPECT_EQ(diag_.message.find('\x01'), std::string::npos) << "control character passed through";
    EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(client_faults, wrong_crc32_is_retried_for_a_read) {
    server_.push(scripted_reply::http(200, get_ok, "x-amz-crc32: 12345\r\n"));
    server_.push(scripted_reply::http(200, get_ok));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, get());
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(server_.requests().size(), 2u);
}

TEST_F(client_faults, wrong_crc32_on_a_conditional_write_is_ambiguous_and_not_repeated) {
    server_.push(scripted_reply::http(200, update_ok, "x-amz-crc32: 12345\r\n"));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, update());
    EXPECT_EQ(ec, errc::crc32_mismatch);
    EXPECT_TRUE(is_ambiguous(ec));
    EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(client_faults, server_error_is_retried_for_a_read) {
    server_.push(scripted_reply::http(500, R"({"__type":"InternalServerError","message":"x"})"));
    server_.push(scripted_reply::http(503, ""));
    server_.push(scripted_reply::http(200, get_ok));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, get());
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(client_faults, server_error_on_a_conditional_write_is_returned_as_ambiguous) {
    server_.push(scripted_reply::http(500, R"({"__type":"InternalServerError","message":"x"})"));
    server_.push(scripted_reply::http(200, update_ok));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, update());
    EXPECT_EQ(ec, errc::internal_server_error);
    EXPECT_TRUE(is_ambiguous(ec));
    EXPECT_EQ(server_.requests().size(), 1u) << "a write of unknown outcome was repeated";
}

TEST_F(client_faults, throttling_is_retried_even_for_conditional_writes) {
    const std::string throttled =
        R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"})";
    server_.push(scripted_reply::http(400, throttled));
    server_.push(scripted_reply::http(400, R"({"__type":"ThrottlingException"})"));
    server_.push(scripted_reply::http(200, update_ok));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, update());
    EXPECT_FALSE(ec) << ec.message();
    ASSERT_TRUE(r.attributes);
    EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(client_faults, throttling_beyond_the_attempts_is_reported) {
    for (int i = 0; i < 3; ++i) {
        server_.push(scripted_reply::http(400, R"({"__type":"ThrottlingException"})"));
    }
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, update());
    EXPECT_EQ(ec, errc::throttled);
    EXPECT_EQ(server_.requests().size(), 3u);
}

TEST_F(client_faults, conditional_check_failure_is_never_retried) {
    server_.push(scripted_reply::http(
        400,
        R"({"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed","Item":{"owner":{"S":"other"}}})"));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, update());
    EXPECT_EQ(ec, errc::conditional_check_failed);
    ASSERT_TRUE(diag_.item);
    EXPECT_EQ(diag_.item->at("owner"), attribute_value{"other"});
    EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(client_faults, clock_skew_is_corrected_from_the_date_header) {
    // The server's clock runs 2 hours ahead of ours.
    const std::time_t ahead = std::time(nullptr) + 7200;
    char date[64];
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", std::gmtime(&ahead));
    server_.push(scripted_reply::http(
        400,
        R"json({"__type":"com.amazon.coral.service#InvalidSignatureException",)json"
        R"json("message":"Signature expired: 20260101T000000Z is now earlier than )json"
        R"json(20260101T020000Z (20260101T015500Z - 5 min.)"})json",
        std::string("Date: ") + date + "\r\n"));
    server_.push(scripted_reply::http(200, get_ok));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, get());
    EXPECT_FALSE(ec) << ec.message();
    ASSERT_EQ(server_.requests().size(), 2u);
    char expected_hour[32];
    std::strftime(expected_hour, sizeof expected_hour, "%Y%m%dT%H", std::gmtime(&ahead));
    EXPECT_TRUE(std::string(server_.requests()[1]["X-Amz-Date"]).starts_with(expected_hour))
        << server_.requests()[1]["X-Amz-Date"] << " vs " << expected_hour;
}

TEST_F(client_faults, silent_server_times_out_at_the_deadline) {
    server_.push(scripted_reply::hang());
    auto c = make_client(server_.url());
    const auto t0 = std::chrono::steady_clock::now();
    auto [ec, r] = exec(c, update(), 300ms);
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(ec, errc::timeout);
    EXPECT_TRUE(is_ambiguous(ec));
    EXPECT_GE(took, 290ms);
    EXPECT_LT(took, 2s);
}

TEST_F(client_faults, connection_closed_without_answer_is_connection_lost) {
    server_.push(scripted_reply::close());
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, update());
    EXPECT_EQ(ec, errc::connection_lost);
    EXPECT_TRUE(is_ambiguous(ec));
    EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(client_faults, truncated_response_is_an_error) {
    server_.push(scripted_reply::bytes("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"Attri"));
    server_.push(scripted_reply::close());
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, update(), 2s);
    EXPECT_TRUE(ec == errc::connection_lost || ec == errc::timeout ||
                ec == errc::malformed_response)
        << ec.message();
    EXPECT_TRUE(is_ambiguous(ec));
}

TEST_F(client_faults, garbage_bytes_are_malformed_response) {
    server_.push(scripted_reply::bytes("NOT HTTP AT ALL\r\n\r\n"));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, update());
    EXPECT_EQ(ec, errc::malformed_response) << ec.message();
}

TEST_F(client_faults, body_over_the_limit_is_response_too_large) {
    server_.push(scripted_reply::http(200, std::string(4096, ' ') + "{}"));
    auto c = make_client(server_.url(), http_options{.max_response_body_bytes = 1024});
    auto [ec, r] = exec(c, update());
    EXPECT_EQ(ec, errc::response_too_large);
}

TEST_F(client_faults, connection_refused_is_connect_failed) {
    auto c = make_client("http://127.0.0.1:" + std::to_string(test::free_loopback_port()));
    auto [ec, r] = exec(c, update(), 2s);
    EXPECT_EQ(ec, errc::connect_failed) << ec.message();
    EXPECT_FALSE(is_ambiguous(ec));
    EXPECT_FALSE(diag_.message.empty());
}

TEST_F(client_faults, unresolvable_host_is_connect_failed) {
    // A 64-character label is refused by the resolver itself, so the test
    // sends no DNS query off this machine.
    auto c = make_client("http://" + std::string(64, 'a') + ".invalid:8000");
    auto [ec, r] = exec(c, get(), 3s);
    EXPECT_EQ(ec, errc::connect_failed) << ec.message();
}

TEST_F(client_faults, cancellation_ends_a_waiting_operation_promptly) {
    server_.push(scripted_reply::hang());
    auto c = make_client(server_.url());
    asio::cancellation_signal cancel;
    error_code result;
    bool done = false;
    c.async_execute(get(), asio::bind_cancellation_slot(cancel.slot(), [&](error_code ec, auto) {
                        result = ec;
                        done = true;
                    }));
    asio::steady_timer t(io_, 100ms);
    t.async_wait([&](error_code) { cancel.emit(asio::cancellation_type::terminal); });
    const auto t0 = std::chrono::steady_clock::now();
    while (!done && io_.run_one_for(5s) != 0) {
    }
    EXPECT_TRUE(done);
    EXPECT_EQ(result, asio::error::operation_aborted);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
}

TEST_F(client_faults, cancellation_ends_a_retry_pause_promptly) {
    server_.push(scripted_reply::http(400, R"({"__type":"ThrottlingException"})"));
    server_.push(scripted_reply::http(200, get_ok));
    // A pause of up to 20 s after the throttled answer (full jitter; this
    // seed draws seconds of it).
    client c(
        io_.get_executor(),
        client_options{.region = "us-east-1",
                       .endpoint_url = server_.url(),
                       .credentials = credentials{"AKIDEXAMPLE", "secret"},
                       .retry = {.max_attempts = 3, .throttling_base_delay = 20s, .seed = 42}});
    asio::cancellation_signal cancel;
    std::optional<error_code> result;
    c.async_execute(encoded_get(),
                    {.deadline = std::chrono::steady_clock::now() + 60s, .diagnostics = &diag_},
                    asio::bind_cancellation_slot(
                        cancel.slot(), [&](error_code ec, encoded_response) { result = ec; }));
    // The throttled answer is in (its status is in the diagnostics, which
    // the next attempt would clear): the operation waits to retry.
    while (diag_.http_status != 400 && !result && io_.run_one_for(5s) != 0) {
    }
    ASSERT_EQ(diag_.http_status, 400u);
    const auto t0 = std::chrono::steady_clock::now();
    cancel.emit(asio::cancellation_type::terminal);
    while (!result && io_.run_one_for(5s) != 0) {
    }
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, asio::error::operation_aborted);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_EQ(server_.requests().size(), 1u);
}

TEST_F(client_faults, a_request_that_fails_at_once_completes_after_its_initiating_call_returned) {
    auto c = make_client(server_.url());
    std::optional<error_code> result;
    bool initiated = false;
    // From a handler on the client's thread, as a user's code calls it, where
    // completing at once would be allowed were it not the initiating call.
    asio::post(io_, [&] {
        c.async_execute(encoded_get(),
                        {.deadline = std::chrono::steady_clock::now() - 1ms, .diagnostics = &diag_},
                        [&](error_code ec, encoded_response) { result = ec; });
        EXPECT_FALSE(result) << "completed inside the initiating call";
        initiated = true;
    });
    while ((!initiated || !result) && io_.run_one_for(5s) != 0) {
    }
    ASSERT_TRUE(result);
    EXPECT_EQ(*result, errc::timeout);
    EXPECT_EQ(server_.requests().size(), 0u);
}

TEST_F(client_faults, a_request_out_when_its_io_context_is_destroyed_is_destroyed_with_it) {
    // A listener that never accepts: the connection completes in the kernel's
    // backlog and the request stays unanswered.
    auto io = std::make_unique<asio::io_context>();
    auto silent = std::make_unique<asio::ip::tcp::acceptor>(
        *io, asio::ip::tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0});
    const auto port = silent->local_endpoint().port();
    auto c = std::make_unique<client>(
        io->get_executor(),
        client_options{.region = "us-east-1",
                       .endpoint_url = "http://127.0.0.1:" + std::to_string(port),
                       .credentials = credentials{"AKIDEXAMPLE", "secret"}});
    auto alive = std::make_shared<int>(0);
    const std::weak_ptr<int> watch = alive;
    bool called = false;
    c->async_execute(
        encoded_get(), {.deadline = std::chrono::steady_clock::now() + 60s},
        [&called, alive = std::move(alive)](error_code, encoded_response) { called = true; });
    io->run_for(200ms);  // connected and written, or on the way: pending either way
    ASSERT_FALSE(called);
    c.reset();
    silent.reset();
    io.reset();
    EXPECT_FALSE(called);
    EXPECT_TRUE(watch.expired())
        << "the handler (and the operation holding it) outlived its io_context";
}

TEST_F(client_faults, xml_error_bodies_are_understood) {
    // moto answers a bad signature in the query protocol's XML.
    server_.push(scripted_reply::http(
        403,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<ErrorResponse><Errors><Error><Code>"
        "SignatureDoesNotMatch</Code><Message>The request signature we calculated does not "
        "match</Message><Type>Sender</Type></Error></Errors></ErrorResponse>"));
    auto c = make_client(server_.url());
    auto [ec, r] = exec(c, get());
    EXPECT_EQ(ec, errc::signature_rejected) << ec.message();
    EXPECT_EQ(diag_.aws_type, "SignatureDoesNotMatch");
}

TEST_F(client_faults, a_passed_deadline_sends_nothing) {
    server_.push(scripted_reply::http(200, update_ok));
    auto c = make_client(server_.url());
    auto [ec, r] =
        test::execute(io_, c, update(),
                      {.deadline = std::chrono::steady_clock::now() - 1ms, .diagnostics = &diag_});
    EXPECT_EQ(ec, errc::timeout);
    EXPECT_EQ(server_.requests().size(), 0u);
    EXPECT_FALSE(diag_.message.empty());
}

TEST(client_options_validation, bad_options_are_rejected_at_construction) {
    asio::io_context io;
    EXPECT_THROW(client(io.get_executor(), client_options{.region = "us-east-1",
                                                          .endpoint_url = "ftp://x",
                                                          .credentials = credentials{"a", "b"}}),
                 std::system_error);
    EXPECT_THROW(client(io.get_executor(), client_options{.region = "us-east-1",
                                                          .endpoint_url = "http://127.0.0.1:1",
                                                          .credentials = credentials{"a", "b"},
                                                          .http = {.max_connections = 0}}),
                 std::system_error);
    try {
        client(io.get_executor(), client_options{.region = "us-east-1",
                                                 .endpoint_url = "http://127.0.0.1:1",
                                                 .credentials = credentials{"a", "b"},
                                                 .default_timeout = 0ms});
        ADD_FAILURE() << "a zero timeout was accepted";
    } catch (const std::system_error& e) {
        EXPECT_NE(std::string(e.what()).find("default_timeout"), std::string::npos) << e.what();
    }
    // Beyond the bounds: each message names the option and its limit
    // (std::system_error adds the code's own message after it).
    const auto refused = [&io](client_options o) -> std::string {
        o.region = "us-east-1";
        o.endpoint_url = "http://127.0.0.1:1";
        o.credentials = credentials{"a", "b"};
        try {
            client c(io.get_executor(), o);
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(make_error_code(errc::invalid_argument)));
            const std::string what = e.what();
            return what.substr(0, what.rfind(": invalid argument"));
        }
        return "accepted";
    };
    EXPECT_EQ(refused({.default_timeout = std::chrono::hours(99999999999)}),
              "dynamodb::client_options::default_timeout must be positive and at most 1 hour");
    EXPECT_EQ(refused({.credentials_refresh_margin = std::chrono::hours(13)}),
              "dynamodb::client_options::credentials_refresh_margin must be from 0 to 12 hours "
              "(the longest STS session)");
    EXPECT_EQ(refused({.retry = {.max_attempts = 101}}),
              "dynamodb::client_options::retry: max_attempts must be from 1 to 100");
    EXPECT_EQ(refused({.http = {.idle_timeout = std::chrono::hours(2)}}),
              "dynamodb::client_options::http: http_options.idle_timeout must be positive and at "
              "most 1 hour");
}

}  // namespace
