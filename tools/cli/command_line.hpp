#pragma once

// The dynalock command line as data: parsing is a pure function of the
// arguments and the environment, so every rule is unit-tested without a
// process or a server.

#include <dynalock/dynamodb_operations.hpp>
#include <dynalock/lock_record.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace dynalock::cli {

/// Settings every subcommand shares. Region, profile and endpoint stay empty
/// unless given: the DynamoDB client resolves them from the AWS environment.
struct global_options {
    std::string table{};
    std::string region{};
    std::string profile{};
    std::string endpoint_url{};
    std::string partition_key_name = "key";
    std::string sort_key_name{};
    bool json = false;
};

struct create_table_command {
    std::string ttl_attribute{};
    std::optional<dynamodb::throughput> provisioned{};
};

struct run_command {
    lock_key key{};
    std::chrono::milliseconds lease{std::chrono::seconds(20)};
    std::chrono::milliseconds heartbeat{std::chrono::seconds(5)};
    std::chrono::milliseconds wait{std::chrono::seconds(30)};
    std::chrono::milliseconds grace{std::chrono::seconds(10)};
    std::string owner{};
    std::optional<std::string> data{};
    /// Set with every grant and heartbeat for DynamoDB's TTL; empty: none.
    std::string ttl_attribute{};
    std::vector<std::string> argv{};
};

struct list_command {};

struct show_command {
    lock_key key{};
};

struct release_command {
    lock_key key{};
    bool force = false;
    /// With `force`: for a lock held under a session, or a session's own
    /// item, end that whole session (every lock held under it).
    bool end_session = false;
};

/// `--help` and `--version`: print `text` on stdout and exit 0.
struct print_command {
    std::string text{};
};

using command = std::variant<print_command, create_table_command, run_command, list_command,
                             show_command, release_command>;

struct invocation {
    global_options global{};
    dynalock::cli::command command{};
};

/// Why the command line cannot be used: one line naming what to fix.
struct usage_error {
    std::string message{};
};

/// An environment variable's value, or nullopt when it is unset.
using environment = std::function<std::optional<std::string>(std::string_view name)>;

/// Parses the arguments after the program name. Options take their value as
/// the next argument or after `=`; global options may come anywhere before
/// `--`. Environment: DYNALOCK_TABLE, DYNALOCK_PARTITION_KEY_NAME,
/// DYNALOCK_SORT_KEY_NAME, DYNALOCK_JSON (`1` or `true`); an option given on
/// the command line wins.
std::variant<invocation, usage_error> parse_command_line(std::span<const std::string> args,
                                                         const environment& env);

/// The longest duration any option takes: the longest lease (max_lease, 7
/// days). A wait, grace or heartbeat beyond it is a mistake, not a plan.
inline constexpr std::chrono::milliseconds max_duration = max_lease;

/// Far above DynamoDB's default quota of 40,000 units per table: anything
/// more is a typo.
inline constexpr std::uint64_t max_capacity_units = 1'000'000;

/// `20s`, `500ms`, `2m`, `1h`: a non-negative whole number and a unit, at
/// most max_duration. Nullopt with the reason in `why` otherwise.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string& why);

/// `RCU,WCU`, both whole numbers from 1 to max_capacity_units.
std::optional<dynamodb::throughput> parse_throughput(std::string_view text, std::string& why);

/// The usage text of the whole program.
std::string program_help();

/// `dynalock VERSION`, a line: the project's version (dynalock/version.hpp).
std::string version_text();

}  // namespace dynalock::cli
