// A worker that holds many locks under one session of its own, for the
// session takeover test: it takes `count` locks "shard-0".."shard-N" of TABLE
// on the DynamoDB endpoint at URL under one session, prints
// "held COUNT SESSION_KEY" on one line, and heartbeats its session until it
// is killed.
//
//   usage: session_holder URL TABLE COUNT LEASE_MS

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

namespace asio = boost::asio;

int main(int argc, char** argv) {
    if (argc != 5) {
        std::cerr << "usage: session_holder URL TABLE COUNT LEASE_MS\n";
        return 2;
    }
    const int count = std::atoi(argv[3]);
    const std::chrono::milliseconds lease(std::atoi(argv[4]));
    asio::io_context io;
    dynalock::dynamodb::client db(
        io.get_executor(), {.region = "us-east-1",
                            .endpoint_url = argv[1],
                            .credentials = dynalock::credentials{"AKIDEXAMPLE", "not-checked"}});
    dynalock::dynamodb_store store(db, {.table_name = argv[2]});
    dynalock::lock_client locks(store,
                                {.owner = "holder", .lease = lease, .heartbeat_period = lease / 4});
    auto run = [&]() -> asio::awaitable<void> {
        dynalock::session s = co_await locks.async_open_session();
        std::vector<dynalock::lock_key> keys;
        for (int i = 0; i < count; ++i) {
            keys.emplace_back("shard-" + std::to_string(i));
        }
        dynalock::acquire_many_result got =
            co_await locks.async_acquire_many(keys, {.concurrency = 64, .each = {.session = s}});
        std::cout << "held " << got.granted.size() << " " << s.key().partition << std::endl;
        co_await s.async_wait_lost();
        std::cerr << "session_holder: the session ended: " << to_string(s.reason()) << "\n";
        std::exit(1);
    };
    asio::co_spawn(io, run(), [](std::exception_ptr e) {
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                std::cerr << "session_holder: " << x.what() << "\n";
            }
            std::exit(1);
        }
    });
    io.run();
}
