// Guards a critical section with a DynamoDB lease: two workers (two lock
// clients with their own owner names, as two processes would have) take turns
// on one lock; each turn runs inside async_with_lease, which cancels the work
// if the lease is lost and releases it when the work is done.
//
//   export AWS_REGION=us-east-1 AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000
//   export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y
//   ./critical_section [TABLE]

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <iostream>

namespace asio = boost::asio;
using namespace std::chrono_literals;

asio::awaitable<void> worker(dynalock::lock_client& locks, std::string name) {
    const dynalock::lock_key key{"nightly-report"};
    for (int turn = 0; turn < 3; ++turn) {
        dynalock::lease lease = co_await locks.async_acquire(key);
        auto critical_section = [&]() -> asio::awaitable<void> {
            // Downstream writes carry lease.fence(): storage that refuses
            // smaller fences than it has seen stays safe even if this process
            // stalls past its lease.
            std::cout << name << " holds the lock, fence " << lease.fence() << "\n";
            asio::steady_timer work(co_await asio::this_coro::executor, 100ms);
            co_await work.async_wait(asio::deferred);
        };
        const dynalock::error_code ec = co_await locks.async_with_lease(lease, critical_section());
        std::cout << name << " done: " << (ec ? ec.message() : "released") << "\n";
    }
}

asio::awaitable<void> run(dynalock::dynamodb_store& store, dynalock::lock_client& a,
                          dynalock::lock_client& b) {
    auto [ec] = co_await store.async_create_table({}, asio::as_tuple(asio::deferred));
    if (ec && ec != dynalock::errc::resource_in_use) {
        throw boost::system::system_error(ec, "creating the lock table");
    }
    auto ex = co_await asio::this_coro::executor;
    asio::co_spawn(ex, worker(a, "worker-a"), asio::detached);
    co_await worker(b, "worker-b");
}

int main(int argc, char** argv) {
    try {
        asio::io_context io;
        dynalock::dynamodb::client db(io.get_executor());
        dynalock::dynamodb_store store(
            db, {.table_name = argc > 1 ? argv[1] : "dynalock-example-locks"});
        const dynalock::lock_client_options options{
            .lease = 3s, .heartbeat_period = 1s, .poll_period = 50ms};
        dynalock::lock_client a(store, options), b(store, options);
        asio::co_spawn(io, run(store, a, b), [](std::exception_ptr e) {
            if (e) {
                std::rethrow_exception(e);
            }
        });
        io.run();
    } catch (const std::exception& e) {
        std::cerr << "critical_section: " << e.what() << "\n";
        return 1;
    }
}
