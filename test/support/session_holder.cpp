// A process holding locks under one session of its own, for the tests that
// need a real holder to kill or to outlive (the CLI's end to end tests, the
// session takeover test). It finds region, endpoint and credentials in the
// AWS environment, as the dynalock program does, so that it signs for moto
// too. It takes each KEY of TABLE under one session, prints
// "held COUNT SESSION_KEY EPOCH" on one line, and heartbeats its session
// until the session ends (then it prints why on stderr and exits 3) or it is
// killed. With `--sort NAME=VALUE`, the table's sort key is NAME and every
// lock, and the session's item, have the sort key VALUE.
//
//   usage: session_holder [--sort NAME=VALUE] TABLE LEASE_MS KEY...

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace asio = boost::asio;

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::string sort_key_name;
    std::optional<std::string> sort;
    if (args.size() >= 2 && args[0] == "--sort" && args[1].find('=') != std::string::npos) {
        sort_key_name = args[1].substr(0, args[1].find('='));
        sort = args[1].substr(args[1].find('=') + 1);
        args.erase(args.begin(), args.begin() + 2);
    }
    std::chrono::milliseconds::rep lease_ms = 0;
    const std::string lease_text = args.size() > 1 ? args[1] : std::string();
    if (args.size() < 3 ||
        std::from_chars(lease_text.data(), lease_text.data() + lease_text.size(), lease_ms).ec !=
            std::errc{}) {
        std::cerr << "usage: session_holder [--sort NAME=VALUE] TABLE LEASE_MS KEY...\n";
        return 2;
    }
    const std::chrono::milliseconds lease(lease_ms);
    asio::io_context io;
    dynalock::dynamodb::client db(io.get_executor());
    dynalock::dynamodb_store store(db, {.table_name = args[0], .sort_key_name = sort_key_name});
    // A quarter of the lease between heartbeats, as the library suggests.
    dynalock::lock_client locks(
        store, {.owner = "session-holder", .lease = lease, .heartbeat_period = lease / 4});
    std::vector<dynalock::lock_key> keys;
    for (auto it = args.begin() + 2; it != args.end(); ++it) {
        keys.emplace_back(*it, sort);
    }
    auto hold = [&]() -> asio::awaitable<void> {
        dynalock::session s = co_await locks.async_open_session({.sort = sort});
        // The takeover test's thousands of keys: as many requests at a time as
        // its taker makes.
        dynalock::acquire_many_result got =
            co_await locks.async_acquire_many(keys, {.concurrency = 64, .each = {.session = s}});
        for (const auto& refused : got.refused) {
            std::cerr << "session_holder: " << refused.key.partition << ": "
                      << refused.error.message() << " " << refused.message << "\n";
        }
        std::cout << "held " << got.granted.size() << " " << s.key().partition << " " << s.epoch()
                  << std::endl;
        co_await s.async_wait_lost();
        std::cerr << "session_holder: the session ended: " << to_string(s.reason()) << "\n";
        std::exit(3);
    };
    asio::co_spawn(io, hold(), [](std::exception_ptr e) {
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
