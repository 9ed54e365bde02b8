#include "options.hpp"

#include "harness/command_line.hpp"

#include <dynalock/dynamodb_store.hpp>

#include <algorithm>
#include <stdexcept>
#include <string_view>

namespace dynalock::torture {

namespace {

constexpr worker_mode modes[] = {worker_mode::mixed, worker_mode::per_lock, worker_mode::session};

worker_mode parse_mode(std::string_view flag, std::string_view value) {
    const auto found = std::find_if(std::begin(modes), std::end(modes),
                                    [&](worker_mode m) { return to_string(m) == value; });
    if (found == std::end(modes))
        throw std::invalid_argument(std::string(flag) +
                                    ": expected mixed, per-lock or session, got '" +
                                    std::string(value) + "'");
    return *found;
}

}  // namespace

std::string_view to_string(worker_mode m) noexcept {
    switch (m) {
        case worker_mode::per_lock:
            return "per-lock";
        case worker_mode::session:
            return "session";
        case worker_mode::mixed:
            break;
    }
    return "mixed";
}

std::string usage() {
    return R"(Usage: torture [options]

P worker processes contend for K lock keys for S seconds against dynalite,
each through its own fault proxy, paused (SIGSTOP, some pauses longer than the
lease) and killed (SIGKILL, then started again) at random, writing a fenced
item while they hold a key. Prints one JSON line; exits non-zero when two
holders of a key overlapped, a fence went back, a stale write was accepted,
a worker failed, or the run tested too little. See test/torture/torture.cpp.

Options:
  --seconds S        how long the workers run (60; 0.1 to 1e7)
  --processes P      worker processes (4; 1 to 64)
  --keys K           lock keys they contend for (3; 1 to 1000)
  --lease-ms L       the lease, of locks and sessions alike (1000; 100 to 600000)
  --mode M           mixed (default): per-lock and session-bound workers
                     alternate, at least 2 processes; per-lock: every lock
                     with a lease of its own; session: every lock under a
                     session of its worker
  --seed N           seed of every random choice (random; printed in the JSON)
  --endpoint-url U   a running server (else DYNALOCK_TEST_DYNALITE_URL when
                     set, else a dynalite started for the run; that needs
                     `npm ci` in the source tree)
  --help, -h         print this and exit
)";
}

worker_mode mode_of_worker(worker_mode run_mode, int index) noexcept {
    if (run_mode != worker_mode::mixed)
        return run_mode;
    return index % 2 == 0 ? worker_mode::per_lock : worker_mode::session;
}

dynamodb::client_options client_options_for(const std::string& endpoint_url) {
    return {.region = "us-east-1",
            .endpoint_url = endpoint_url,
            .credentials = credentials{"torture", "dynalite-does-not-check"}};
}

dynalock::item protected_item_key(const std::string& lock_key) {
    return {
        {dynamodb_store_options{}.partition_key_name, attribute_value("protected-" + lock_key)}};
}

options parse_options(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            o.help = true;
            return o;
        }
    }
    harness::for_each_flag(
        argc, argv, {"--worker"}, [&](std::string_view flag, std::string_view value) {
            if (flag == "--worker") {
                o.worker = true;
            } else if (flag == "--seconds") {
                o.seconds = harness::parse_number(flag, value, 0.1, 1e7);
            } else if (flag == "--processes") {
                o.processes = harness::parse_number(flag, value, 1, 64);
            } else if (flag == "--keys") {
                o.keys = harness::parse_number(flag, value, 1, 1000);
            } else if (flag == "--lease-ms") {
                o.lease =
                    std::chrono::milliseconds(harness::parse_number(flag, value, 100, 600'000));
            } else if (flag == "--mode") {
                o.mode = parse_mode(flag, value);
            } else if (flag == "--endpoint-url") {
                o.endpoint_url = value;
            } else if (flag == "--seed") {
                o.seed = harness::parse_number<std::uint64_t>(flag, value, 0, UINT64_MAX);
                o.seed_given = true;
            } else if (flag == "--index") {
                o.index = harness::parse_number(flag, value, 0, 63);
            } else if (flag == "--lock-table") {
                o.lock_table = value;
            } else if (flag == "--data-table") {
                o.data_table = value;
            } else if (flag == "--log") {
                o.log_path = value;
            } else {
                throw std::invalid_argument("unknown flag " + std::string(flag) +
                                            " (torture --help lists them)");
            }
        });
    if (o.worker) {
        if (o.endpoint_url.empty() || o.lock_table.empty() || o.data_table.empty() ||
            o.log_path.empty())
            throw std::invalid_argument(
                "--worker needs --endpoint-url, --lock-table, --data-table and --log");
        if (o.mode == worker_mode::mixed)
            throw std::invalid_argument("--worker needs --mode per-lock or --mode session");
    } else if (o.mode == worker_mode::mixed && o.processes < 2) {
        throw std::invalid_argument(
            "--mode mixed needs at least 2 processes (one of each kind); use --mode per-lock "
            "or --mode session for one");
    }
    return o;
}

}  // namespace dynalock::torture
