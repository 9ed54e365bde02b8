// The locks of a worker killed with SIGKILL, held under one session, are
// taken by another process after the session's lease, each with a higher
// fence: the first within a lease and two poll periods of the kill (and never
// before the lease), every one within its own wait of four leases. How long
// taking all of them took is printed beside the time the same acquire_many
// takes for as many free locks on the same server, not asserted: both swing
// by tens of seconds with the machine's load (a benchmark, not a test, is
// the place to compare them). The worker is a real process (session_holder),
// so the kill is real; both run on this host, whose monotonic clock they
// share.
//
// A real-time test: the lower bound (no takeover before the lease) is the
// safety property and is checked exactly; the upper bound gets 10 s of slack,
// because a loaded 2-core machine delays dynalite and us by seconds, and the
// figures themselves are printed (a JSON line) for the notes.
//
//   usage: session_takeover_test HOLDER_PROGRAM LOCK_COUNT

#include "process/child_process.hpp"

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

using namespace dynalock;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

std::string holder_program;
int lock_count = 10000;
constexpr std::chrono::milliseconds holder_lease = 3s;
constexpr std::chrono::milliseconds poll_period = 500ms;
constexpr auto slack = 10s;

double seconds(steady::duration d) {
    return std::chrono::duration<double>(d).count();
}

// Runs `a` to its end (the client's idle connections keep the context from
// running out of work, so it runs until the result is there).
template <class T>
T run(asio::io_context& io, asio::awaitable<T> a) {
    auto f = asio::co_spawn(io, std::move(a), asio::use_future);
    io.restart();
    while (f.wait_for(0s) != std::future_status::ready) {
        io.run_one_for(100ms);
    }
    return f.get();
}

// Reads one line from `fd`, for at most `limit`.
std::string read_line(int fd, std::chrono::seconds limit) {
    std::string line;
    const auto until = steady::now() + limit;
    char c = 0;
    while (steady::now() < until) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 200) <= 0) {
            continue;
        }
        if (::read(fd, &c, 1) != 1) {
            break;
        }
        if (c == '\n') {
            return line;
        }
        line += c;
    }
    return line;
}

TEST(session_takeover,
     a_killed_workers_session_locks_are_taken_after_its_lease_with_higher_fences) {
    const char* url = std::getenv("DYNALOCK_TEST_DYNALITE_URL");
    ASSERT_NE(url, nullptr)
        << "DYNALOCK_TEST_DYNALITE_URL is not set: run under tools/test_servers.py";
    asio::io_context io;
    dynamodb::client db(io.get_executor(),
                        {.region = "us-east-1",
                         .endpoint_url = url,
                         .credentials = credentials{"AKIDEXAMPLE", "not-checked"}});
    const std::string table = "takeover-" + std::to_string(std::random_device{}());
    dynamodb_store store(db, {.table_name = table});
    run(io, [&]() -> asio::awaitable<void> { co_await store.async_create_table({}); }());
    lock_client locks(store, {.owner = "taker",
                              .lease = holder_lease,
                              .heartbeat_period = holder_lease / 4,
                              .poll_period = poll_period,
                              .max_in_flight = 64,
                              .observation_cache_size = 16});

    // How long acquire_many takes for as many free locks here.
    std::vector<lock_key> free_keys;
    for (int i = 0; i < lock_count; ++i) {
        free_keys.emplace_back("free-" + std::to_string(i));
    }
    const auto free_start = steady::now();
    const auto free_got = run(io, [&]() -> asio::awaitable<acquire_many_result> {
        dynalock::session s = co_await locks.async_open_session();
        auto got = co_await locks.async_acquire_many(free_keys,
                                                     {.concurrency = 64, .each = {.session = s}});
        co_await locks.async_close_session(s);
        co_return got;
    }());
    const auto free_time = steady::now() - free_start;
    ASSERT_EQ(free_got.granted.size(), free_keys.size());

    // The worker takes its locks under its session, then is killed.
    int out[2];
    ASSERT_EQ(::pipe(out), 0);
    error_code ec;
    std::vector<lock_key> keys;
    std::vector<std::string> holder_argv{holder_program, table,
                                         std::to_string(holder_lease.count())};
    for (int i = 0; i < lock_count; ++i) {
        keys.emplace_back("shard-" + std::to_string(i));
        holder_argv.push_back(keys.back().partition);
    }
    const pid_t pid = process::spawn({.argv = std::move(holder_argv),
                                      .environment = {{"AWS_REGION", "us-east-1"},
                                                      {"AWS_ENDPOINT_URL_DYNAMODB", url},
                                                      {"AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"},
                                                      {"AWS_SECRET_ACCESS_KEY", "not-checked"}},
                                      .standard_output = out[1],
                                      .death_signal = SIGKILL},
                                     ec);
    ::close(out[1]);
    ASSERT_GT(pid, 0) << ec.message();
    const std::string held = read_line(out[0], std::chrono::seconds(600));
    ::close(out[0]);
    std::istringstream said(held);
    std::string word, session_key;
    int count = 0;
    said >> word >> count >> session_key;
    ASSERT_EQ(word, "held") << "the holder said: " << held;
    ASSERT_EQ(count, lock_count);
    ::kill(pid, SIGKILL);
    const auto killed_at = steady::now();
    ::waitpid(pid, nullptr, 0);

    // Taken as the free ones were: under a session of the taker.
    const auto got = run(io, [&]() -> asio::awaitable<acquire_many_result> {
        dynalock::session s = co_await locks.async_open_session();
        co_return co_await locks.async_acquire_many(
            keys,
            {.concurrency = 64, .wait = true, .each = {.wait = 4 * holder_lease, .session = s}});
    }());
    ASSERT_EQ(got.granted.size(), keys.size())
        << (got.refused.empty() ? "" : got.refused.front().error.message());
    auto first = steady::time_point::max();
    auto last = steady::time_point::min();
    for (const lease& l : got.granted) {
        EXPECT_EQ(l.fence(), 2u) << l.key().partition;
        first = std::min(first, l.acquired_at());
        last = std::max(last, l.acquired_at());
    }
    EXPECT_GE(first - killed_at, holder_lease) << "taken before the session's lease had passed";
    EXPECT_LE(first - killed_at, holder_lease + 2 * poll_period + slack);
    std::cout << "{\"locks\":" << lock_count << ",\"session_lease_s\":" << seconds(holder_lease)
              << ",\"poll_s\":" << seconds(poll_period)
              << ",\"first_taken_after_kill_s\":" << seconds(first - killed_at)
              << ",\"all_taken_after_kill_s\":" << seconds(last - killed_at)
              << ",\"acquire_many_free_s\":" << seconds(free_time) << "}" << std::endl;
    run(io, [&]() -> asio::awaitable<void> {
        co_await locks.async_close();
        co_await db.async_execute(dynamodb::delete_table_request{table});
    }());
}

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    if (argc != 3) {
        std::cerr << "usage: session_takeover_test HOLDER_PROGRAM LOCK_COUNT\n";
        return 2;
    }
    holder_program = argv[1];
    lock_count = std::atoi(argv[2]);
    return RUN_ALL_TESTS();
}
