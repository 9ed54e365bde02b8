// The shard group in one process on the memory store: what the process test
// (shard_group_test.py) cannot stage on demand. Rounds and leases run on the
// real clock here (the group's rounds are Asio timers); each test waits for
// what it expects with a deadline of 30 s, far above the tens of
// milliseconds it takes, so that a loaded machine only makes it slower.

#include <dynalock/lock_client.hpp>
#include <dynalock/memory_store.hpp>
#include <dynalock/shard_group.hpp>

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <functional>
#include <map>
#include <memory>
#include <string>

using namespace dynalock;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Runs the io_context until `done` holds, for at most 30 s.
bool run_until(asio::io_context& io, const std::function<bool()>& done) {
    const auto give_up = std::chrono::steady_clock::now() + 30s;
    while (!done()) {
        if (std::chrono::steady_clock::now() > give_up) {
            return false;
        }
        io.run_for(5ms);
        io.restart();
    }
    return true;
}

asio::awaitable<void> work_until_handoff(owned_shard s) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!s.handoff_requested()) {
        t.expires_after(5ms);
        co_await t.async_wait(asio::deferred);
    }
}

struct fixture : ::testing::Test {
    asio::io_context io;
    memory_store store{io.get_executor()};
    lock_client locks{store, {.owner = "w1", .lease = 3s, .heartbeat_period = 1s}};
    std::map<std::string, int> assigned;
    std::vector<shard_event::kind> kinds;

    shard_group::event_function record() {
        return [this](const shard_event& e) {
            kinds.push_back(e.what);
            if (e.what == shard_event::kind::assigned) {
                ++assigned[e.shard];
            }
        };
    }
};

TEST_F(fixture, a_shard_whose_work_fails_is_taken_again) {
    int failures_left = 1;
    shard_group group(
        locks, {.group = "g", .shard_count = 2, .round = 20ms},
        [&](owned_shard s) -> asio::awaitable<void> {
            if (s.name() == "0" && failures_left-- > 0) {
                throw std::runtime_error("the work failed");
            }
            co_await work_until_handoff(s);
        },
        record());
    bool finished = false;
    group.async_run([&](std::exception_ptr, error_code) { finished = true; });
    // Released after the failure, the shard is free: the round after reads
    // the shards again and takes it back.
    ASSERT_TRUE(run_until(io, [&] { return assigned["0"] >= 2 && group.owned().size() == 2; }))
        << "shard 0 assigned " << assigned["0"] << " times";
    group.stop();
    ASSERT_TRUE(run_until(io, [&] { return finished; }));
    EXPECT_EQ(kinds.back(), shard_event::kind::left);
    EXPECT_EQ(locks.stats().held, 0u);  // closing the session freed everything
}

TEST_F(fixture, stop_hands_back_every_shard_with_one_session_close) {
    shard_group group(locks, {.group = "g", .shard_count = 8, .round = 20ms}, work_until_handoff,
                      record());
    bool finished = false;
    error_code result = make_error_code(errc::invalid_argument);
    group.async_run([&](std::exception_ptr, error_code ec) {
        finished = true;
        result = ec;
    });
    ASSERT_TRUE(run_until(io, [&] { return group.owned().size() == 8; }));
    const auto writes_before = locks.stats().store_writes;
    group.stop();
    ASSERT_TRUE(run_until(io, [&] { return finished; }));
    EXPECT_FALSE(result);
    EXPECT_EQ(locks.stats().store_writes - writes_before, 1u) << "one write frees all";
    EXPECT_EQ(locks.stats().held, 0u);
    EXPECT_EQ(locks.stats().sessions, 0u);
}

TEST_F(fixture, destroying_a_running_group_closes_its_session_and_touches_nothing_after) {
    auto group = std::make_unique<shard_group>(
        locks, shard_group_options{.group = "g", .shard_count = 4, .round = 20ms},
        work_until_handoff, record());
    group->async_run(asio::detached);
    ASSERT_TRUE(run_until(io, [&] { return group->owned().size() == 4; }));
    const auto events = kinds.size();
    group.reset();
    // Its coroutines resume later; none may call into the client's callbacks
    // or the destroyed group's (ASan would see it), and the session closes.
    ASSERT_TRUE(run_until(io, [&] { return locks.stats().sessions == 0; }));
    EXPECT_EQ(locks.stats().held, 0u);
    io.run_for(100ms);
    EXPECT_EQ(kinds.size(), events) << "no event after the group was destroyed";
    bool closed = false;
    locks.async_close([&](error_code) { closed = true; });
    ASSERT_TRUE(run_until(io, [&] { return closed; }));
}

TEST(shard_group_options, invalid_options_are_refused_naming_the_option) {
    const auto why = [](shard_group_options o) { return o.validate().value_or(""); };
    EXPECT_NE(why({.shard_count = 4}).find("group"), std::string::npos);
    EXPECT_NE(why({.group = "g"}).find("shard_count"), std::string::npos);
    EXPECT_NE(why({.group = "g", .shards = {"a", "a"}}).find("twice"), std::string::npos);
    EXPECT_NE(why({.group = "g", .shard_count = 1, .round = 1ms}).find("round"), std::string::npos);
    EXPECT_NE(why({.group = "g", .shard_count = 1, .max_moves_per_round = 0}).find("max_moves"),
              std::string::npos);
    EXPECT_NE(why({.group = "g", .shard_count = 1, .handoff_timeout = 0ms}).find("handoff"),
              std::string::npos);
    EXPECT_EQ(why({.group = "g", .shard_count = 1}), "");
    asio::io_context io;
    memory_store store(io.get_executor());
    lock_client locks(store);
    EXPECT_THROW(shard_group(locks, {.group = ""}, work_until_handoff), std::system_error);
}

}  // namespace
