#pragma once

#include <dynalock/dynamodb_client.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace dynalock::torture {

/// The command line. The run's flags are documented in torture.cpp; the
/// `--worker` ones are how the supervisor starts its worker processes.
struct options {
    double seconds = 60;
    int processes = 4;
    int keys = 3;
    std::chrono::milliseconds lease{1000};
    /// Empty: DYNALOCK_TEST_DYNALITE_URL, else a dynalite started for the run.
    std::string endpoint_url{};
    std::uint64_t seed = 0;
    bool seed_given = false;

    // Worker mode only.
    bool worker = false;
    int index = 0;
    std::string lock_table{};
    std::string data_table{};
    std::string log_path{};
};

/// How every process of a run reaches the server (dynalite checks no signature).
dynamodb::client_options client_options_for(const std::string& endpoint_url);

/// The key of lock key `lock_key`'s protected item in the data table (made
/// like a lock table, with the store's default key schema).
dynalock::item protected_item_key(const std::string& lock_key);

/// Throws std::invalid_argument naming the flag or value it cannot use.
options parse_options(int argc, char** argv);

}  // namespace dynalock::torture
