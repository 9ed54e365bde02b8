#pragma once

#include <dynalock/dynamodb_client.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace dynalock::torture {

/// How workers hold their locks.
enum class worker_mode {
    /// Each lock with a lease of its own, heartbeated on its own.
    per_lock,
    /// Every lock under a session of the worker (lock_client::async_open_session).
    session,
    /// Both kinds of workers contending for the same keys: even indexes
    /// per-lock, odd ones session-bound. Never a worker's own mode.
    mixed,
};

std::string_view to_string(worker_mode m) noexcept;

/// The command line. The run's flags are in usage(); the `--worker` ones are
/// how the supervisor starts its worker processes.
struct options {
    double seconds = 60;
    int processes = 4;
    int keys = 3;
    std::chrono::milliseconds lease{1000};
    worker_mode mode = worker_mode::mixed;
    /// Empty: DYNALOCK_TEST_DYNALITE_URL, else a dynalite started for the run.
    std::string endpoint_url{};
    std::uint64_t seed = 0;
    bool seed_given = false;
    /// `--help` (or `-h`) was given: print usage() and do nothing else.
    bool help = false;

    // Worker mode only; `mode` is then per_lock or session.
    bool worker = false;
    int index = 0;
    std::string lock_table{};
    std::string data_table{};
    std::string log_path{};
};

/// What `torture --help` prints.
std::string usage();

/// How worker `index` of a run in `run_mode` holds its locks.
worker_mode mode_of_worker(worker_mode run_mode, int index) noexcept;

/// How every process of a run reaches the server (dynalite checks no signature).
dynamodb::client_options client_options_for(const std::string& endpoint_url);

/// The key of lock key `lock_key`'s protected item in the data table (made
/// like a lock table, with the store's default key schema).
dynalock::item protected_item_key(const std::string& lock_key);

/// Throws std::invalid_argument naming the flag or value it cannot use.
/// `--help` anywhere wins over every other flag, valid or not.
options parse_options(int argc, char** argv);

}  // namespace dynalock::torture
