#pragma once

// Where the real servers started by tools/test_servers.py listen. A missing
// variable fails the test: these suites are meant to run, never to skip.

#include <dynalock/dynamodb_client.hpp>

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>

namespace dynalock::test {

/// Throws (failing the test before any client exists, so nothing falls back to
/// a default endpoint off this machine) when the variable is missing.
inline std::string require_env(const char* name) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0') {
        throw std::runtime_error(std::string(name) +
                                 " is not set: run the suite through tools/test.sh (or "
                                 "tools/test_servers.py -- meson test ...), which starts the servers");
    }
    return v;
}

/// One real DynamoDB-compatible server of the test run.
struct server {
    std::string name;  ///< "dynalite" or "moto"
    bool verifies_signatures = false;
    bool returns_item_on_condition_failure =
        false;  ///< honours ReturnValuesOnConditionCheckFailure
    bool has_transactions = false;
    bool has_time_to_live = false;

    friend std::ostream& operator<<(std::ostream& os, const server& s) { return os << s.name; }
};

inline const server dynalite{"dynalite", false, false, false, false};
inline const server moto{"moto", true, true, true, true};

inline dynamodb::client_options options_for(const server& s) {
    dynamodb::client_options o{.region = "us-east-1"};
    if (s.name == "moto") {
        o.endpoint_url = require_env("DYNALOCK_TEST_MOTO_URL");
        o.credentials = credentials{require_env("DYNALOCK_TEST_MOTO_ACCESS_KEY_ID"),
                                    require_env("DYNALOCK_TEST_MOTO_SECRET_ACCESS_KEY")};
    } else {
        o.endpoint_url = require_env("DYNALOCK_TEST_DYNALITE_URL");
        o.credentials = credentials{"AKIDEXAMPLE", "dynalite-does-not-check"};
    }
    return o;
}

/// A table name no other test uses.
inline std::string unique_table(std::string_view prefix) {
    static std::mt19937_64 rng{std::random_device{}()};
    return std::string(prefix) + "-" + std::to_string(rng() % 1000000000);
}

/// Runs an awaitable to completion on a fresh io_context and returns its value.
template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> a) {
    auto fut = boost::asio::co_spawn(io, std::move(a), boost::asio::use_future);
    io.restart();
    io.run();
    return fut.get();
}

}  // namespace dynalock::test
