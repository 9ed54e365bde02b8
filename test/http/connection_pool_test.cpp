#include "run_util.hpp"
#include "support/scripted_http_server.hpp"

#include <http/connection_pool.hpp>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>

#include <gtest/gtest.h>

#include <memory>

namespace dynalock::http::test {
namespace {

namespace asio = boost::asio;
using dynalock::test::answer_all;
using dynalock::test::free_loopback_port;
using dynalock::test::http_peer;
using dynalock::test::http_response;
using dynalock::test::scripted_http_server;
using dynalock::test::wire_request;

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

struct outcome {
    exchange_result result;
    response res;
};

request sample_request(std::string body = R"({"TableName":"locks"})") {
    request req;
    req.headers = {{"Host", "127.0.0.1"}, {"X-Amz-Target", "DynamoDB_20120810.GetItem"}};
    req.body = std::move(body);
    return req;
}

asio::awaitable<outcome> exchange_once(connection_pool& pool, request req,
                                       clock_type::time_point deadline) {
    outcome o;
    o.result = co_await pool.async_exchange(req, o.res, deadline);
    co_return o;
}

asio::awaitable<outcome> exchange_after(connection_pool& pool, std::chrono::milliseconds delay) {
    asio::steady_timer timer(co_await asio::this_coro::executor, delay);
    co_await timer.async_wait(asio::use_awaitable);
    co_return co_await exchange_once(pool, sample_request(), clock_type::now() + 2s);
}

class http_pool : public ::testing::Test {
protected:
    connection_pool make_pool(const scripted_http_server& server, http_options options = {}) {
        return connection_pool(io.get_executor(), endpoint{false, "127.0.0.1", server.port()},
                               options);
    }

    outcome exchange(connection_pool& pool, std::chrono::milliseconds budget = 2000ms) {
        return run(io, exchange_once(pool, sample_request(), clock_type::now() + budget));
    }

    asio::io_context io;
};

TEST_F(http_pool, sends_the_request_and_returns_the_whole_response) {
    std::optional<wire_request> seen;
    scripted_http_server server(io, [&](http_peer& p, std::size_t) -> asio::awaitable<void> {
        seen = co_await p.read_request();
        co_await p.send(http_response(200, R"({"Item":{}})",
                                      "x-amzn-RequestId: abc\r\nx-amz-crc32: 42\r\nX-Empty:\r\n"));
        co_await p.wait_for_close();
    });
    auto pool = make_pool(server);
    const outcome o = exchange(pool);

    ASSERT_FALSE(o.result.ec) << o.result.detail;
    EXPECT_TRUE(o.result.request_sent);
    EXPECT_EQ(o.res.result_int(), 200u);
    EXPECT_EQ(o.res["x-amzn-RequestId"], "abc");
    EXPECT_EQ(o.res["x-amz-crc32"], "42");
    EXPECT_EQ(o.res.field("X-AMZ-CRC32"), "42");
    EXPECT_EQ(o.res.field("x-empty"), "");
    EXPECT_EQ(o.res.field("x-absent"), std::nullopt);
    EXPECT_EQ(o.res["x-absent"], "");
    EXPECT_EQ(o.res.body(), R"({"Item":{}})");
    ASSERT_TRUE(seen);
    EXPECT_EQ(seen->method(), boost::beast::http::verb::post);
    EXPECT_EQ(seen->target(), "/");
    EXPECT_EQ((*seen)["X-Amz-Target"], "DynamoDB_20120810.GetItem");
    EXPECT_EQ((*seen)["Content-Length"], "21");
    EXPECT_EQ(seen->body(), R"({"TableName":"locks"})");
}

// The reads wait for readiness before reading: a response is read to its end
// whether it takes many reads or comes in pieces that each need a wait.
TEST_F(http_pool, reads_a_response_longer_than_one_read_to_its_end) {
    const std::string body(256 * 1024, 'x');
    scripted_http_server server(io, [&](http_peer& p, std::size_t) -> asio::awaitable<void> {
        co_await p.read_request();
        co_await p.send(http_response(200, body));
        co_await p.wait_for_close();
    });
    auto pool = make_pool(server);
    const outcome o = exchange(pool, 10s);
    ASSERT_FALSE(o.result.ec) << o.result.detail;
    EXPECT_EQ(o.res.body(), body);
}

TEST_F(http_pool, reads_a_response_that_arrives_in_pieces) {
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        co_await p.read_request();
        const std::string whole = http_response(200, R"({"Item":{"k":{"S":"v"}}})");
        for (std::size_t at = 0; at < whole.size(); at += 16) {
            co_await p.send(whole.substr(at, 16));
            co_await p.sleep(5ms);  // separate arrivals (timing cannot change the outcome)
        }
        co_await p.wait_for_close();
    });
    auto pool = make_pool(server);
    const outcome o = exchange(pool, 10s);
    ASSERT_FALSE(o.result.ec) << o.result.detail;
    EXPECT_EQ(o.res.body(), R"({"Item":{"k":{"S":"v"}}})");
}

TEST_F(http_pool, reuses_a_kept_alive_connection) {
    scripted_http_server server(io, answer_all("{}"));
    auto pool = make_pool(server);
    for (int i = 0; i < 3; ++i) {
        const outcome o = exchange(pool);
        ASSERT_FALSE(o.result.ec) << o.result.detail;
    }
    EXPECT_EQ(server.accepted(), 1u);
    EXPECT_EQ(pool.open_connections(), 1u);
    EXPECT_EQ(pool.idle_connections(), 1u);
}

TEST_F(http_pool, honours_connection_close) {
    // The server keeps its end open: only the header can tell the pool not to reuse it.
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        co_await p.read_request();
        co_await p.send(http_response(200, "{}", "Connection: close\r\n"));
        co_await p.wait_for_close();
    });
    auto pool = make_pool(server);
    ASSERT_FALSE(exchange(pool).result.ec);
    EXPECT_EQ(pool.open_connections(), 0u);
    ASSERT_FALSE(exchange(pool).result.ec);
    EXPECT_EQ(server.accepted(), 2u);
}

TEST_F(http_pool, reconnects_when_the_server_closed_the_idle_connection) {
    scripted_http_server server(io, [](http_peer& p, std::size_t index) -> asio::awaitable<void> {
        co_await p.read_request();
        co_await p.send(http_response(200, "{}"));
        if (index == 0) {
            co_return;  // closes the idle connection, as dynalite does after 5 s
        }
        co_await p.wait_for_close();
    });
    auto pool = make_pool(server);
    ASSERT_FALSE(exchange(pool).result.ec);
    const outcome second = run(io, exchange_after(pool, 100ms));
    ASSERT_FALSE(second.result.ec) << second.result.detail;
    EXPECT_EQ(server.accepted(), 2u);
}

TEST_F(http_pool, does_not_reuse_a_connection_idle_past_the_idle_timeout) {
    scripted_http_server server(io, answer_all("{}"));
    auto pool = make_pool(server, {.idle_timeout = 50ms});
    ASSERT_FALSE(exchange(pool).result.ec);
    const outcome second = run(io, exchange_after(pool, 100ms));
    ASSERT_FALSE(second.result.ec) << second.result.detail;
    EXPECT_EQ(server.accepted(), 2u);
    EXPECT_EQ(pool.open_connections(), 1u);
}

TEST_F(http_pool, retries_once_when_a_reused_connection_dies_before_answering) {
    // The close comes after the request was written, so the idle check cannot see it.
    scripted_http_server server(io, [](http_peer& p, std::size_t index) -> asio::awaitable<void> {
        if (index == 0) {
            co_await p.read_request();
            co_await p.send(http_response(200, "first"));
            co_await p.read_request();
            co_return;
        }
        co_await p.read_request();
        co_await p.send(http_response(200, "second"));
        co_await p.wait_for_close();
    });
    auto pool = make_pool(server);
    ASSERT_FALSE(exchange(pool).result.ec);
    const outcome second = exchange(pool);
    ASSERT_FALSE(second.result.ec) << second.result.detail;
    EXPECT_TRUE(second.result.request_sent);
    EXPECT_EQ(second.res.body(), "second");
    EXPECT_EQ(server.accepted(), 2u);
}

TEST_F(http_pool, does_not_retry_a_fresh_connection_that_dies_after_the_request) {
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        co_await p.read_request();  // then close without a response
    });
    auto pool = make_pool(server);
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::connection_lost);
    EXPECT_TRUE(o.result.request_sent);
    EXPECT_FALSE(o.result.detail.empty());
    EXPECT_EQ(server.accepted(), 1u);
    EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(http_pool, retries_a_dead_reused_connection_only_once) {
    scripted_http_server server(io, [](http_peer& p, std::size_t index) -> asio::awaitable<void> {
        if (index == 0) {
            co_await p.read_request();
            co_await p.send(http_response(200, "{}"));
        }
        co_await p.read_request();
    });
    auto pool = make_pool(server);
    ASSERT_FALSE(exchange(pool).result.ec);
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::connection_lost);
    EXPECT_TRUE(o.result.request_sent);
    EXPECT_EQ(server.accepted(), 2u);
}

TEST_F(http_pool, refused_connection_is_connect_failed_and_not_sent) {
    connection_pool pool(io.get_executor(), endpoint{false, "127.0.0.1", free_loopback_port()}, {});
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::connect_failed);
    EXPECT_FALSE(o.result.request_sent);
    EXPECT_NE(o.result.detail.find("127.0.0.1"), std::string::npos) << o.result.detail;
    EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(http_pool, unresolvable_host_is_connect_failed) {
    connection_pool pool(io.get_executor(), endpoint{false, "dynalock-test.invalid", 80}, {});
    const outcome o = exchange(pool, 5000ms);
    EXPECT_EQ(o.result.ec, errc::connect_failed) << o.result.detail;
    EXPECT_FALSE(o.result.request_sent);
    EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(http_pool, silent_server_times_out_at_the_deadline) {
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        co_await p.read_request();
        co_await p.wait_for_close();
    });
    auto pool = make_pool(server);
    const auto start = clock_type::now();
    const outcome o = exchange(pool, 300ms);
    const auto elapsed = clock_type::now() - start;
    EXPECT_EQ(o.result.ec, errc::timeout);
    EXPECT_TRUE(o.result.request_sent);
    EXPECT_GE(elapsed, 290ms);
    EXPECT_LT(elapsed, 800ms);
    EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(http_pool, truncated_response_is_connection_lost) {
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        co_await p.read_request();
        co_await p.send("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"Item\":");
    });
    auto pool = make_pool(server);
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::connection_lost);
    EXPECT_TRUE(o.result.request_sent);
    EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(http_pool, garbage_is_malformed_response) {
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        co_await p.read_request();
        co_await p.send("SSH-2.0-OpenSSH_9.2\r\n\r\n");
        co_await p.wait_for_close();
    });
    auto pool = make_pool(server);
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::malformed_response);
    EXPECT_TRUE(o.result.request_sent);
    EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(http_pool, body_over_the_limit_is_refused_and_the_connection_closed) {
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        while (auto req = co_await p.read_request()) {
            co_await p.send(http_response(200, std::string(req->body() == "big" ? 17 : 16, 'x')));
        }
    });
    auto pool = make_pool(server, {.max_response_body_bytes = 16});
    const outcome at_limit =
        run(io, exchange_once(pool, sample_request("small"), clock_type::now() + 2s));
    ASSERT_FALSE(at_limit.result.ec) << at_limit.result.detail;
    EXPECT_EQ(at_limit.res.body().size(), 16u);

    const outcome over =
        run(io, exchange_once(pool, sample_request("big"), clock_type::now() + 2s));
    EXPECT_EQ(over.result.ec, errc::response_too_large);
    EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(http_pool, bounds_open_connections_and_queues_the_rest) {
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        while (co_await p.read_request()) {
            co_await p.sleep(50ms);
            co_await p.send(http_response(200, "{}"));
        }
    });
    auto pool = make_pool(server, {.max_connections = 2});
    std::vector<asio::awaitable<outcome>> ops;
    for (int i = 0; i < 3; ++i) {
        ops.push_back(exchange_once(pool, sample_request(), clock_type::now() + 2s));
    }
    for (const outcome& o : run_all(io, std::move(ops))) {
        EXPECT_FALSE(o.result.ec) << o.result.detail;
    }
    EXPECT_EQ(server.accepted(), 2u);
    EXPECT_EQ(server.max_concurrent(), 2u);
    EXPECT_EQ(pool.open_connections(), 2u);
}

TEST_F(http_pool, waiting_for_a_connection_ends_at_the_deadline) {
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        co_await p.read_request();
        co_await p.wait_for_close();
    });
    auto pool = make_pool(server, {.max_connections = 1});
    std::vector<asio::awaitable<outcome>> ops;
    ops.push_back(exchange_once(pool, sample_request(), clock_type::now() + 400ms));
    ops.push_back(exchange_once(pool, sample_request(), clock_type::now() + 100ms));
    const auto results = run_all(io, std::move(ops));
    EXPECT_EQ(results[0].result.ec, errc::timeout);
    EXPECT_TRUE(results[0].result.request_sent);
    EXPECT_EQ(results[1].result.ec, errc::timeout);
    EXPECT_FALSE(results[1].result.request_sent);
    EXPECT_EQ(server.accepted(), 1u);
    EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(http_pool, terminal_cancellation_aborts_and_closes_the_connection) {
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        co_await p.read_request();
        co_await p.wait_for_close();
    });
    auto pool = make_pool(server);
    asio::cancellation_signal cancel;
    std::optional<outcome> done;
    asio::co_spawn(
        io, exchange_once(pool, sample_request(), clock_type::now() + 5s),
        asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, outcome o) {
            EXPECT_FALSE(e);
            done = std::move(o);
            io.stop();
        }));
    asio::steady_timer later(io, 100ms);
    later.async_wait([&](error_code) { cancel.emit(asio::cancellation_type::terminal); });
    const auto start = clock_type::now();
    io.run_for(hang_guard);

    ASSERT_TRUE(done);
    EXPECT_LT(clock_type::now() - start, 1s);
    EXPECT_EQ(done->result.ec, asio::error::operation_aborted);
    EXPECT_TRUE(done->result.request_sent);
    EXPECT_EQ(pool.open_connections(), 0u);
}

TEST_F(http_pool, destroying_the_pool_mid_request_aborts_it) {
    scripted_http_server server(io, [](http_peer& p, std::size_t) -> asio::awaitable<void> {
        co_await p.read_request();
        co_await p.wait_for_close();
    });
    auto pool = std::make_unique<connection_pool>(io.get_executor(),
                                                  endpoint{false, "127.0.0.1", server.port()},
                                                  http_options{.max_connections = 1});
    asio::steady_timer later(io, 100ms);
    later.async_wait([&](error_code) { pool.reset(); });
    std::vector<asio::awaitable<outcome>> ops;
    ops.push_back(exchange_once(*pool, sample_request(), clock_type::now() + 5s));
    ops.push_back(
        exchange_once(*pool, sample_request(), clock_type::now() + 5s));  // waits for a slot
    const auto start = clock_type::now();
    const auto results = run_all(io, std::move(ops));
    EXPECT_LT(clock_type::now() - start, 1s);
    EXPECT_FALSE(pool);
    EXPECT_EQ(results[0].result.ec, asio::error::operation_aborted);
    EXPECT_EQ(results[1].result.ec, asio::error::operation_aborted);
    EXPECT_FALSE(results[1].result.request_sent);
}

TEST_F(http_pool, closed_pool_refuses_new_exchanges) {
    scripted_http_server server(io, answer_all("{}"));
    auto pool = make_pool(server);
    ASSERT_FALSE(exchange(pool).result.ec);
    pool.close();
    EXPECT_EQ(pool.open_connections(), 0u);
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, asio::error::operation_aborted);
    EXPECT_FALSE(o.result.request_sent);
}

TEST_F(http_pool, header_injection_is_invalid_argument_and_not_sent) {
    std::size_t requests = 0;
    scripted_http_server server(io, [&](http_peer& p, std::size_t) -> asio::awaitable<void> {
        while (co_await p.read_request()) {
            ++requests;
        }
    });
    auto pool = make_pool(server);
    request req = sample_request();
    req.headers.emplace_back("X-Evil", "a\r\nInjected: yes");
    const outcome o = run(io, exchange_once(pool, req, clock_type::now() + 2s));
    EXPECT_EQ(o.result.ec, errc::invalid_argument);
    EXPECT_FALSE(o.result.request_sent);
    EXPECT_EQ(requests, 0u);
}

TEST_F(http_pool, invalid_options_fail_every_exchange_with_the_reason) {
    scripted_http_server server(io, answer_all("{}"));
    auto pool = make_pool(server, {.max_connections = 0});
    const outcome o = exchange(pool);
    EXPECT_EQ(o.result.ec, errc::invalid_argument);
    EXPECT_NE(o.result.detail.find("max_connections"), std::string::npos) << o.result.detail;
    EXPECT_EQ(server.accepted(), 0u);
}

TEST_F(http_pool, an_exchange_that_fails_at_once_completes_after_its_initiating_call_returned) {
    scripted_http_server server(io, answer_all("{}"));
    auto pool = make_pool(server, {.max_connections = 0});
    const request req = sample_request();
    response res;
    std::optional<exchange_result> got;
    pool.async_exchange(req, res, clock_type::now() + 2s,
                        [&](exchange_result r) { got = std::move(r); });
    EXPECT_FALSE(got) << "completed inside the initiating call";
    while (!got && io.run_one_for(5s) != 0) {
    }
    ASSERT_TRUE(got);
    EXPECT_EQ(got->ec, errc::invalid_argument);
}

}  // namespace
}  // namespace dynalock::http::test
