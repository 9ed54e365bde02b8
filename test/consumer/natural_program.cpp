// The first program a user writes, built outside this project against an
// installed dynalock: a lock taken and released on a DynamoDB endpoint, with
// region, endpoint and credentials from the AWS environment as with any SDK.
// Prints the fence of each grant; exits non-zero on any failure.

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdlib>
#include <iostream>

namespace asio = boost::asio;

asio::awaitable<int> run(dynalock::dynamodb_store& store, dynalock::lock_client& locks) {
    co_await store.async_create_table({});
    dynalock::lease l = co_await locks.async_acquire(dynalock::lock_key{"job"});
    std::cout << "acquired job, fence " << l.fence() << "\n";
    co_await locks.async_release(l);
    dynalock::lease again =
        co_await locks.async_acquire({"job"}, {.wait = std::chrono::seconds(5)});
    std::cout << "acquired job, fence " << again.fence() << "\n";
    co_await locks.async_close();
    co_return again.fence() == l.fence() + 1 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char** argv) {
    asio::io_context io;
    dynalock::dynamodb::client db(io.get_executor());
    dynalock::dynamodb_store store(db, {.table_name = argc > 1 ? argv[1] : "consumer-locks"});
    dynalock::lock_client locks(store);
    int status = EXIT_FAILURE;
    asio::co_spawn(io, run(store, locks), [&](std::exception_ptr e, int s) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                std::cerr << "natural_program: " << x.what() << "\n";
            }
            return;
        }
        status = s;
    });
    io.run();
    return status;
}
