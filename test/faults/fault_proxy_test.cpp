// The fault proxy itself, between our DynamoDB client and dynalite: each
// fault is seen by the client as the real network condition would be, and by
// the server as the fault says (a dropped response's write still applied, a
// reset request's never did).

#include "support/fault_proxy.hpp"
#include "integration/test_servers.hpp"
#include "support/execute.hpp"

#include <dynalock/dynamodb_client.hpp>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <optional>
#include <thread>

using namespace dynalock;
using namespace dynalock::dynamodb;
namespace asio = boost::asio;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

long long ms_since(clock_type::time_point t0) {
    return std::chrono::duration_cast<milliseconds>(clock_type::now() - t0).count();
}

class fault_proxy_test : public ::testing::Test {
protected:
    void SetUp() override {
        const client_options direct_options = test::options_for(test::dynalite);
        direct_.emplace(io_.get_executor(), direct_options);
        const auto upstream = test::upstream_endpoint(direct_options.endpoint_url);
        proxy_.emplace(io_.get_executor(), upstream.host, upstream.port, 42);
        client_options proxied_options = direct_options;
        proxied_options.endpoint_url = proxy_->url();
        // One attempt: every fault reaches the test as the client saw it.
        proxied_options.retry.max_attempts = 1;
        proxied_.emplace(io_.get_executor(), proxied_options);

        auto [ec, r] =
            test::execute(io_, *direct_,
                          create_table_request{.table_name = table_,
                                               .partition_key = {"pk", scalar_attribute_type::s}});
        ASSERT_FALSE(ec) << ec.message();
        created_ = true;
        wait_active();
    }

    void wait_active() {
        for (int i = 0; i < 100; ++i) {
            auto [ec, r] = test::execute(io_, *direct_, describe_table_request{table_});
            ASSERT_FALSE(ec) << ec.message();
            if (r.table.status == table_status::active) {
                return;
            }
            asio::steady_timer t(io_, milliseconds(20));
            t.wait();
        }
        FAIL() << "the table never became ACTIVE";
    }

    void TearDown() override {
        proxy_->close();
        if (created_) {
            test::execute(io_, *direct_, delete_table_request{table_});
        }
    }

    /// A write that must not be repeated blindly (the client never retries
    /// it): puts `pk` only if absent.
    put_item_request conditional_put(const std::string& pk) const {
        return put_item_request{.table_name = table_,
                                .item = item{{"pk", attribute_value{pk}}},
                                .condition_expression = "attribute_not_exists(pk)"};
    }

    bool exists(const std::string& pk) {
        auto [ec, r] = test::execute(io_, *direct_,
                                     get_item_request{.table_name = table_,
                                                      .key = item{{"pk", attribute_value{pk}}},
                                                      .consistent_read = true});
        EXPECT_FALSE(ec) << ec.message();
        return r.item.has_value();
    }

    template <class Request>
    std::tuple<error_code, response_t<Request>> through_proxy(
        Request r, diagnostics* d = nullptr, std::optional<milliseconds> timeout = {}) {
        operation_options o{.diagnostics = d};
        if (timeout) {
            o.deadline = clock_type::now() + *timeout;
        }
        return test::execute(io_, *proxied_, std::move(r), o);
    }

    get_item_request get(const std::string& pk) const {
        return get_item_request{.table_name = table_, .key = item{{"pk", attribute_value{pk}}}};
    }

    asio::io_context io_;
    std::string table_ = test::unique_table("proxy");
    std::optional<client> direct_;
    std::optional<test::fault_proxy> proxy_;
    std::optional<client> proxied_;
    bool created_ = false;
};

TEST_F(fault_proxy_test, forwards_requests_faithfully_on_one_kept_alive_connection) {
    for (int i = 0; i < 5; ++i) {
        auto [ec, r] = through_proxy(conditional_put("k" + std::to_string(i)));
        ASSERT_FALSE(ec) << ec.message();
    }
    auto [ec, r] = through_proxy(get("k3"));
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(r.item.has_value());
    const auto c = proxy_->counters();
    EXPECT_EQ(c.requests, 6u);
    EXPECT_EQ(c.forwarded, 6u);
    EXPECT_EQ(c.answered, 6u);
    EXPECT_EQ(c.connections, 1u);
    EXPECT_EQ(c.applied(test::fault::none), 6u);
}

TEST_F(fault_proxy_test, throttle_answers_with_a_dynamodb_throttling_exception) {
    proxy_->inject({test::fault::throttle});
    diagnostics d;
    auto [ec, r] = through_proxy(conditional_put("t"), &d);
    EXPECT_EQ(ec, errc::throttled) << ec.message();
    EXPECT_EQ(d.http_status, 400u);
    EXPECT_FALSE(exists("t")) << "a throttled request must never reach the server";
    const auto c = proxy_->counters();
    EXPECT_EQ(c.throttle, 1u);
    EXPECT_EQ(c.forwarded, 0u);
    // The connection stays usable: the next request goes through on it.
    auto [ec2, r2] = through_proxy(conditional_put("t"));
    EXPECT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(proxy_->counters().connections, 1u);
}

TEST_F(fault_proxy_test, server_error_answers_500) {
    proxy_->inject({test::fault::server_error});
    diagnostics d;
    auto [ec, r] = through_proxy(conditional_put("e"), &d);
    EXPECT_EQ(ec, errc::internal_server_error) << ec.message();
    EXPECT_EQ(d.http_status, 500u);
    EXPECT_FALSE(exists("e"));
    EXPECT_EQ(proxy_->counters().forwarded, 0u);
}

TEST_F(fault_proxy_test, drop_response_applies_the_write_and_leaves_the_client_without_answer) {
    proxy_->inject({test::fault::drop_response});
    auto [ec, r] = through_proxy(conditional_put("d"));
    EXPECT_EQ(ec, errc::connection_lost) << ec.message();
    EXPECT_TRUE(is_ambiguous(ec));
    EXPECT_TRUE(exists("d")) << "the server must have applied the dropped request";
    const auto c = proxy_->counters();
    EXPECT_EQ(c.drop_response, 1u);
    EXPECT_EQ(c.forwarded, 1u);
    EXPECT_EQ(c.answered, 0u);
}

// On a kept-alive connection a dropped response looks like a server closing
// an idle connection, which HTTP clients answer by sending again on a new
// one. For a conditional write that second send would fail its condition
// against the first one's result: the client must report the loss instead.
TEST_F(fault_proxy_test, drop_response_on_a_reused_connection_is_not_sent_again) {
    auto [warm_ec, w] = through_proxy(get("warm"));
    ASSERT_FALSE(warm_ec) << warm_ec.message();
    proxy_->inject({test::fault::drop_response});
    auto [ec, r] = through_proxy(conditional_put("d2"));
    EXPECT_EQ(ec, errc::connection_lost) << ec.message();
    EXPECT_TRUE(exists("d2"));
    const auto c = proxy_->counters();
    EXPECT_EQ(c.requests, 2u) << "the conditional write was sent again";
    EXPECT_EQ(c.forwarded, 2u);
}

TEST_F(fault_proxy_test, reset_request_never_reaches_the_server) {
    proxy_->inject({test::fault::reset_request});
    auto [ec, r] = through_proxy(conditional_put("r"));
    EXPECT_EQ(ec, errc::connection_lost) << ec.message();
    EXPECT_FALSE(exists("r"));
    const auto c = proxy_->counters();
    EXPECT_EQ(c.reset_request, 1u);
    EXPECT_EQ(c.forwarded, 0u);
}

TEST_F(fault_proxy_test, reset_response_cuts_the_answer_after_the_write_applied) {
    proxy_->inject({test::fault::reset_response});
    auto [ec, r] = through_proxy(conditional_put("rr"));
    EXPECT_TRUE(ec) << "a response cut in the middle must not pass as success";
    EXPECT_TRUE(is_ambiguous(ec)) << ec.message();
    EXPECT_TRUE(exists("rr"));
    const auto c = proxy_->counters();
    EXPECT_EQ(c.reset_response, 1u);
    EXPECT_EQ(c.forwarded, 1u);
    EXPECT_EQ(c.answered, 0u);
}

TEST_F(fault_proxy_test, blackhole_never_answers) {
    proxy_->inject({test::fault::blackhole});
    const auto t0 = clock_type::now();
    auto [ec, r] = through_proxy(get("b"), nullptr, milliseconds(400));
    EXPECT_EQ(ec, errc::timeout) << ec.message();
    EXPECT_GE(ms_since(t0), 390);
    EXPECT_EQ(proxy_->counters().blackhole, 1u);
    EXPECT_EQ(proxy_->counters().forwarded, 0u);
}

TEST_F(fault_proxy_test, trickle_delivers_the_whole_response_slowly) {
    auto [put_ec, p] = through_proxy(conditional_put("slow"));
    ASSERT_FALSE(put_ec) << put_ec.message();
    test::fault_plan plan;
    plan.trickle = 1;
    plan.trickle_bytes = 8;
    plan.trickle_interval = milliseconds(10);
    proxy_->set_plan(plan);
    const auto t0 = clock_type::now();
    auto [ec, r] = through_proxy(get("slow"));
    const long long took = ms_since(t0);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_TRUE(r.item.has_value());
    // A response head alone is over 100 bytes: at least 12 pauses.
    EXPECT_GE(took, 120);
    EXPECT_EQ(proxy_->counters().trickle, 1u);
}

TEST_F(fault_proxy_test, latency_delays_each_request_by_fixed_plus_jitter) {
    test::fault_plan plan;
    plan.latency = milliseconds(150);
    plan.latency_jitter = milliseconds(100);
    proxy_->set_plan(plan);
    for (int i = 0; i < 3; ++i) {
        const auto t0 = clock_type::now();
        auto [ec, r] = through_proxy(get("x"));
        const long long took = ms_since(t0);
        ASSERT_FALSE(ec) << ec.message();
        EXPECT_GE(took, 150);
        EXPECT_LT(took, 250 + 1000) << "far more than latency plus jitter";
    }
    EXPECT_EQ(proxy_->counters().delayed, 3u);
}

TEST_F(fault_proxy_test, injected_faults_come_in_order_before_the_plan) {
    test::fault_plan plan;
    plan.server_error = 1;
    proxy_->set_plan(plan);
    proxy_->inject({test::fault::throttle, test::fault::none, test::fault::throttle});
    EXPECT_EQ(std::get<0>(through_proxy(get("q"))), errc::throttled);
    EXPECT_FALSE(std::get<0>(through_proxy(get("q"))));
    EXPECT_EQ(std::get<0>(through_proxy(get("q"))), errc::throttled);
    EXPECT_EQ(proxy_->pending(), 0u);
    EXPECT_EQ(std::get<0>(through_proxy(get("q"))), errc::internal_server_error);
}

// The plan's shares are probabilities, and another thread may change the
// plan and read the counters while requests flow.
TEST_F(fault_proxy_test, shares_are_drawn_per_request_and_the_plan_changes_from_any_thread) {
    test::fault_plan half;
    half.throttle = 0.5;
    proxy_->set_plan(half);
    std::atomic<bool> done{false};
    std::thread controller([&] {
        while (!done) {
            proxy_->set_plan(half);
            static_cast<void>(proxy_->counters());
            std::this_thread::sleep_for(milliseconds(1));
        }
    });
    int throttled = 0;
    constexpr int n = 200;
    for (int i = 0; i < n; ++i) {
        auto [ec, r] = through_proxy(get("p"));
        if (ec == errc::throttled) {
            ++throttled;
        } else {
            EXPECT_FALSE(ec) << ec.message();
        }
    }
    done = true;
    controller.join();
    // Binomial(200, 0.5): 60..140 holds with probability 1 - 1e-8.
    EXPECT_GT(throttled, 60);
    EXPECT_LT(throttled, 140);
    EXPECT_EQ(proxy_->counters().throttle, static_cast<std::uint64_t>(throttled));
    proxy_->set_plan({});
    EXPECT_FALSE(std::get<0>(through_proxy(get("p"))));
}

TEST_F(fault_proxy_test, close_ends_connections_in_flight_and_refuses_new_ones) {
    proxy_->inject({test::fault::blackhole});
    std::optional<error_code> result;
    proxied_->async_execute(get("c"), {}, [&](error_code ec, get_item_response) { result = ec; });
    asio::steady_timer closer(io_, milliseconds(100));
    closer.async_wait([&](error_code) { proxy_->close(); });
    const auto t0 = clock_type::now();
    io_.restart();
    while (!result && io_.run_one_until(t0 + std::chrono::seconds(5)) != 0) {
    }
    ASSERT_TRUE(result.has_value()) << "closing the proxy left the request hanging";
    EXPECT_EQ(*result, errc::connection_lost) << result->message();
    EXPECT_LT(ms_since(t0), 2000);
    auto [ec, r] = through_proxy(get("c"));
    EXPECT_EQ(ec, errc::connect_failed) << ec.message();
}

}  // namespace
