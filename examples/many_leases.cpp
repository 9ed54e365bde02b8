// Holds a thousand shard leases from one lock client on one thread: takes
// them with async_acquire_many, lets the scheduler heartbeat them for a few
// periods, prints what stats() says, and releases them all with async_close.
// Failed heartbeats and losses are logged as they happen (on_event).
// Exits non-zero if any lease was lost.
//
//   export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000
//   export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y
//   ./many_leases [TABLE]

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<bool> hold_shards(dynalock::lock_client& locks) {
    std::vector<dynalock::lock_key> keys;
    for (int i = 0; i < 1000; ++i) {
        keys.push_back({"shard-" + std::to_string(i)});
    }
    auto [ec, got] = co_await locks.async_acquire_many(keys, {.concurrency = 64},
                                                       asio::as_tuple(asio::deferred));
    for (const auto& r : got.refused) {
        std::cerr << r.key.partition << ": " << r.error.message() << " " << r.message << "\n";
    }
    std::cout << "holding " << got.granted.size() << " leases\n";

    asio::steady_timer hold(co_await asio::this_coro::executor, 10s);
    co_await hold.async_wait(asio::deferred);

    const dynalock::lock_client_stats s = locks.stats();
    std::cout << "held " << s.held << ", lost " << s.lost_expired + s.lost_stolen << ", heartbeats "
              << s.heartbeats_sent << " (" << s.heartbeats_failed << " failed, " << s.throttled
              << " throttled), p99 " << s.heartbeat_latency.quantile(0.99).count() / 1000.0
              << " ms, longest gap " << s.max_heartbeat_gap.count() / 1000 << " ms\n";
    co_await locks.async_close();
    co_return !ec && got.refused.empty() && s.held == keys.size();
}

int main(int argc, char** argv) {
    try {
        asio::io_context io;
        dynalock::dynamodb::client db(io.get_executor());
        dynalock::dynamodb_store store(
            db, {.table_name = argc > 1 ? argv[1] : "dynalock-example-shards"});
        // What a log wants: failures and losses (a thousand grants and
        // releases would drown them).
        auto log = [](const dynalock::lock_event& e) {
            using kind = dynalock::lock_event_kind;
            if (e.kind != kind::acquired && e.kind != kind::released) {
                std::clog << "many_leases: " << dynalock::to_string(e) << "\n";
            }
        };
        dynalock::lock_client locks(store, {.lease = 6s, .heartbeat_period = 1s, .on_event = log});
        bool ok = false;
        asio::co_spawn(
            io,
            [&]() -> asio::awaitable<void> {
                auto [ec] = co_await store.async_create_table({}, asio::as_tuple(asio::deferred));
                if (ec && ec != dynalock::errc::resource_in_use) {
                    throw boost::system::system_error(ec, "creating the lock table");
                }
                ok = co_await hold_shards(locks);
            },
            [](std::exception_ptr e) {
                if (e) {
                    std::rethrow_exception(e);
                }
            });
        io.run();
        return ok ? 0 : 1;
    } catch (const std::exception& e) {
        std::cerr << "many_leases: " << e.what() << "\n";
        return 1;
    }
}
