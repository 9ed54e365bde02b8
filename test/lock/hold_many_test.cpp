// Many leases on one client and one thread, held across many heartbeat
// periods: the scheduler's job end to end (issue 4). Nothing may be lost.

#include "lock/store_fixture.hpp"

#include <dynalock/lock_client.hpp>

#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

using namespace dynalock;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

class hold_many_test : public test::store_fixture {};

TEST_P(hold_many_test, a_thousand_leases_held_for_thirty_seconds_lose_nothing) {
    open();
    constexpr int n = 1000;
    lock_client client(
        *store_,
        {.owner = "holder-of-many", .lease = 10s, .heartbeat_period = 3s, .safety_margin = 500ms});
    std::vector<lock_key> keys;
    for (int i = 0; i < n; ++i) {
        keys.push_back(lock_key{"shard-" + std::to_string(i)});
    }
    auto [ec, got] = wait<acquire_many_result>(
        [&](auto h) { client.async_acquire_many(keys, {.concurrency = 32}, std::move(h)); });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(got.granted.size(), std::size_t{n})
        << (got.refused.empty() ? "" : got.refused[0].error.message());

    // Counted from here: the acquire takes from under a second to over
    // twenty on a loaded machine, and its early grants heartbeat meanwhile.
    const std::uint64_t sent_before_hold = client.stats().heartbeats_sent;
    asio::steady_timer hold(io_, 30s);
    EXPECT_FALSE(wait<>([&](auto h) { hold.async_wait(std::move(h)); }));

    const lock_client_stats s = client.stats();
    EXPECT_EQ(s.held, std::size_t{n});
    EXPECT_EQ(s.lost_expired + s.lost_stolen, 0u);
    for (const auto& l : got.granted) {
        ASSERT_TRUE(l.held()) << l.key().partition << ": " << to_string(l.reason());
    }
    // Every lease heartbeat about ten times in the hold (30 s / 3 s, the
    // first ones early).
    EXPECT_GE(s.heartbeats_sent - sent_before_hold, 9u * n);
    EXPECT_LE(s.heartbeats_sent - sent_before_hold, 13u * n);
    EXPECT_LT(s.max_heartbeat_gap, std::chrono::microseconds(9500ms))
        << "a lease came within its safety margin of expiring";
    // Each heartbeat renewed, failed, or is in flight now.
    EXPECT_GE(s.heartbeat_latency.total() + s.heartbeats_failed + s.in_flight, s.heartbeats_sent);
    std::cout << "heartbeats " << s.heartbeats_sent << ", failed " << s.heartbeats_failed
              << ", max gap " << s.max_heartbeat_gap.count() / 1000 << " ms, p99 latency "
              << s.heartbeat_latency.quantile(0.99).count() / 1000 << " ms\n";

    EXPECT_FALSE(wait<>([&](auto h) { client.async_close(std::move(h)); }));
    EXPECT_EQ(client.stats().released, std::size_t{n});
    EXPECT_EQ(client.stats().held, 0u);
}

INSTANTIATE_TEST_SUITE_P(stores, hold_many_test,
                         ::testing::Values(test::memory_backend, test::dynalite_backend),
                         [](const auto& info) { return info.param.name; });

}  // namespace
