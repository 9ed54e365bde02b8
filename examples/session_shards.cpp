// Holds a thousand shard locks under one session: one heartbeat per period
// keeps them all (docs/sessions.md). Takes them with async_acquire_many under
// the session, holds them for a few periods, prints what the session and the
// client sent, and frees them all with one write by closing the session.
// Exits non-zero if any lock was lost or more than the session heartbeated.
//
//   export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000
//   export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y
//   ./session_shards [TABLE]

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
    dynalock::session worker = co_await locks.async_open_session();
    std::cout << "session " << worker.key().partition << " at epoch " << worker.epoch() << "\n";

    std::vector<dynalock::lock_key> keys;
    for (int i = 0; i < 1000; ++i) {
        keys.push_back({"shard-" + std::to_string(i)});
    }
    auto [ec, got] = co_await locks.async_acquire_many(
        keys, {.concurrency = 64, .each = {.session = worker}}, asio::as_tuple(asio::deferred));
    for (const auto& r : got.refused) {
        std::cerr << r.key.partition << ": " << r.error.message() << " " << r.message << "\n";
    }
    std::cout << "holding " << got.granted.size() << " locks under the session\n";

    const auto sent_before = locks.stats().heartbeats_sent;
    asio::steady_timer hold(co_await asio::this_coro::executor, 10s);
    co_await hold.async_wait(asio::deferred);
    const auto sent = locks.stats().heartbeats_sent - sent_before;
    std::cout << "in 10 s: " << sent << " heartbeats sent, " << worker.stats().held_locks
              << " locks held, session remaining "
              << std::chrono::duration_cast<std::chrono::milliseconds>(worker.remaining()).count()
              << " ms\n";
    const bool all_held = worker.stats().held_locks == keys.size() && got.refused.empty();

    // One write frees every lock of the session.
    co_await locks.async_close_session(worker);
    std::cout << "closed: " << locks.stats().held << " locks held\n";
    co_await locks.async_close();
    // The session heartbeats about once a second here; the locks never do.
    co_return !ec && all_held && sent <= 15;
}

int main(int argc, char** argv) {
    try {
        asio::io_context io;
        dynalock::dynamodb::client db(io.get_executor());
        dynalock::dynamodb_store store(
            db, {.table_name = argc > 1 ? argv[1] : "dynalock-example-sessions"});
        dynalock::lock_client locks(store, {.lease = 6s, .heartbeat_period = 1s});
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
        std::cerr << "session_shards: " << e.what() << "\n";
        return 1;
    }
}
