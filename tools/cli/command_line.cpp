#include "command_line.hpp"

#include <dynalock/version.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <map>

namespace dynalock::cli {
namespace {

constexpr std::string_view global_help = R"(global options (also from the environment):
  --table NAME               lock table (DYNALOCK_TABLE)
  --region REGION            AWS region (AWS_REGION, AWS_DEFAULT_REGION, profile)
  --profile NAME             shared config profile (AWS_PROFILE)
  --endpoint-url URL         DynamoDB endpoint (AWS_ENDPOINT_URL_DYNAMODB, AWS_ENDPOINT_URL)
  --partition-key-name NAME  partition key attribute, default "key" (DYNALOCK_PARTITION_KEY_NAME)
  --sort-key-name NAME       sort key attribute, default none (DYNALOCK_SORT_KEY_NAME)
  --json                     machine-readable output (DYNALOCK_JSON=1)
  --help                     this text
  --version                  print dynalock's version
)";

struct subcommand_spec {
    std::string_view name;
    std::string_view synopsis;
    std::string_view details;
};

constexpr std::array<subcommand_spec, 5> subcommands{{
    {"create-table", "dynalock create-table [--ttl-attribute NAME] [--provisioned RCU,WCU]",
     "Creates the lock table (on-demand unless --provisioned) and waits until it is ACTIVE.\n"
     "An existing table with the same key schema is accepted as it is.\n"},
    {"run",
     "dynalock run KEY [--sort-key VALUE] [--lease 20s] [--heartbeat 5s] [--wait 30s]\n"
     "                 [--owner NAME] [--data TEXT] [--grace 10s] [--ttl-attribute NAME]\n"
     "                 -- CMD [ARGS...]",
     "Acquires the lock KEY, runs CMD with DYNALOCK_KEY, DYNALOCK_OWNER and DYNALOCK_FENCE in\n"
     "its environment while heartbeating the lease, and releases the lock when CMD exits.\n"
     "If the lease is lost, CMD gets SIGTERM at once and SIGKILL after the grace period.\n"
     "SIGINT and SIGTERM are forwarded to CMD.\n"
     "--ttl-attribute NAME also writes NAME (epoch seconds, a week past the lease) with every\n"
     "grant and heartbeat, for DynamoDB's TTL to delete abandoned rows; never used for expiry.\n"
     "Exit status: CMD's own (128+N when it died of signal N) when the lease held throughout;\n"
     "75 lock not granted within the wait; 76 lease lost while CMD ran; 64 usage or\n"
     "configuration error; 65 the lock's row is malformed or its fence exhausted;\n"
     "69 DynamoDB unreachable or refused the request.\n"},
    {"list", "dynalock list",
     "Every lock in the table: key, owner, fence, lease, released, version, and the session\n"
     "a lock is held under (its key, epoch and state: held, ended or gone, as read now).\n"
     "Session items are marked as such, with the number of listed locks held under each.\n"
     "A row that is not a lock item is listed as MALFORMED with what is wrong with it.\n"},
    {"show", "dynalock show KEY [--sort-key VALUE]", "One lock, same fields as list.\n"},
    {"release", "dynalock release KEY [--sort-key VALUE] --force [--end-session]",
     "Operator override for a stuck lock: marks it released whoever holds it (the fence is\n"
     "kept) and prints the previous holder, whose lease then ends. Requires --force.\n"
     "A lock held under a session, or a session's own item, is freed only by ending the\n"
     "whole session: --force --end-session, one write on the session's item; it then counts\n"
     "the locks that were held under it (a scan of the table).\n"},
}};

/// Where an option may appear: in every subcommand (global), or in those named.
struct option_spec {
    std::string_view name;
    bool takes_value;
    std::array<std::string_view, 3> subcommands;  // all empty: global
    bool global() const { return subcommands[0].empty(); }
    bool allowed_in(std::string_view sub) const {
        return global() || std::ranges::find(subcommands, sub) != subcommands.end();
    }
};

constexpr std::array<option_spec, 20> options{{
    {"table", true, {}},
    {"region", true, {}},
    {"profile", true, {}},
    {"endpoint-url", true, {}},
    {"partition-key-name", true, {}},
    {"sort-key-name", true, {}},
    {"json", false, {}},
    {"help", false, {}},
    {"version", false, {}},
    {"ttl-attribute", true, {"create-table", "run"}},
    {"provisioned", true, {"create-table"}},
    {"lease", true, {"run"}},
    {"heartbeat", true, {"run"}},
    {"wait", true, {"run"}},
    {"grace", true, {"run"}},
    {"owner", true, {"run"}},
    {"data", true, {"run"}},
    {"sort-key", true, {"run", "show", "release"}},
    {"force", false, {"release"}},
    {"end-session", false, {"release"}},
}};

const option_spec* find_option(std::string_view name) {
    auto it = std::ranges::find(options, name, &option_spec::name);
    return it == options.end() ? nullptr : &*it;
}

const subcommand_spec* find_subcommand(std::string_view name) {
    auto it = std::ranges::find(subcommands, name, &subcommand_spec::name);
    return it == subcommands.end() ? nullptr : &*it;
}

std::string help_for(const subcommand_spec& s) {
    return "usage: " + std::string(s.synopsis) + "\n\n" + std::string(s.details) + "\n" +
           std::string(global_help);
}

/// What the scan of the arguments found, before it is given meaning.
struct scanned {
    std::string subcommand;
    std::vector<std::string> positionals;
    std::map<std::string, std::string, std::less<>> values;  // flags map to ""
    std::optional<std::vector<std::string>> after_dashes;
};

std::variant<scanned, usage_error> scan(std::span<const std::string> args) {
    scanned out;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--") {
            out.after_dashes.emplace(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
            break;
        }
        if (a == "-h") {
            out.values["help"] = "";
            continue;
        }
        if (a.starts_with("--")) {
            const std::size_t eq = a.find('=');
            const std::string name = a.substr(2, eq == std::string::npos ? eq : eq - 2);
            const option_spec* spec = find_option(name);
            if (spec == nullptr) {
                return usage_error{"unknown option --" + name + " (see dynalock --help)"};
            }
            if (!spec->takes_value) {
                if (eq != std::string::npos) {
                    return usage_error{"option --" + name + " takes no value"};
                }
                out.values[name] = "";
            } else if (eq != std::string::npos) {
                out.values[name] = a.substr(eq + 1);
            } else if (i + 1 < args.size()) {
                out.values[name] = args[++i];
            } else {
                return usage_error{"option --" + name + " needs a value"};
            }
            continue;
        }
        if (a.size() > 1 && a.starts_with('-')) {
            return usage_error{"unknown option " + a + " (see dynalock --help)"};
        }
        if (out.subcommand.empty()) {
            out.subcommand = a;
        } else {
            out.positionals.push_back(a);
        }
    }
    return out;
}

std::optional<bool> parse_flag_env(std::string_view value) {
    if (value == "1" || value == "true") {
        return true;
    }
    if (value.empty() || value == "0" || value == "false") {
        return false;
    }
    return std::nullopt;
}

std::variant<global_options, usage_error> globals_from(const scanned& s, const environment& env) {
    global_options g;
    // Command line first, then the environment variable, then the default.
    auto setting = [&](std::string_view option, std::string_view variable, std::string& into) {
        if (auto it = s.values.find(option); it != s.values.end()) {
            into = it->second;
        } else if (!variable.empty()) {
            if (auto v = env(variable); v && !v->empty()) {
                into = *v;
            }
        }
    };
    setting("table", "DYNALOCK_TABLE", g.table);
    setting("region", "", g.region);
    setting("profile", "", g.profile);
    setting("endpoint-url", "", g.endpoint_url);
    setting("partition-key-name", "DYNALOCK_PARTITION_KEY_NAME", g.partition_key_name);
    setting("sort-key-name", "DYNALOCK_SORT_KEY_NAME", g.sort_key_name);
    if (s.values.contains("json")) {
        g.json = true;
    } else if (auto v = env("DYNALOCK_JSON")) {
        auto flag = parse_flag_env(*v);
        if (!flag) {
            return usage_error{"DYNALOCK_JSON must be 1, true, 0 or false, not '" + *v + "'"};
        }
        g.json = *flag;
    }
    if (g.table.empty()) {
        return usage_error{"no lock table: give --table NAME or set DYNALOCK_TABLE"};
    }
    if (g.partition_key_name.empty()) {
        return usage_error{"--partition-key-name must not be empty"};
    }
    return g;
}

std::variant<lock_key, usage_error> key_from(const scanned& s, const global_options& g) {
    if (s.positionals.empty()) {
        return usage_error{"dynalock " + s.subcommand + " needs a lock KEY"};
    }
    lock_key key{s.positionals.front()};
    if (key.partition.empty()) {
        return usage_error{"the lock KEY must not be empty"};
    }
    auto sort = s.values.find("sort-key");
    if (!g.sort_key_name.empty() && sort == s.values.end()) {
        return usage_error{"the table has a sort key (" + g.sort_key_name +
                           "): give its value with --sort-key VALUE"};
    }
    if (sort != s.values.end()) {
        if (g.sort_key_name.empty()) {
            return usage_error{
                "--sort-key needs the sort key attribute's name: give --sort-key-name NAME"};
        }
        key.sort = sort->second;
    }
    return key;
}

/// Reads --ttl-attribute into `into` when it is given.
std::optional<usage_error> ttl_option(const scanned& s, std::string& into) {
    auto it = s.values.find("ttl-attribute");
    if (it == s.values.end()) {
        return std::nullopt;
    }
    if (it->second.empty()) {
        return usage_error{"--ttl-attribute must not be empty"};
    }
    into = it->second;
    return std::nullopt;
}

/// Reads the duration option `name` into `into` when it is given.
std::optional<usage_error> duration_option(const scanned& s, std::string_view name,
                                           std::chrono::milliseconds& into) {
    auto it = s.values.find(name);
    if (it == s.values.end()) {
        return std::nullopt;
    }
    std::string why;
    auto d = parse_duration(it->second, why);
    if (!d) {
        return usage_error{"--" + std::string(name) + " " + it->second + ": " + why};
    }
    into = *d;
    return std::nullopt;
}

std::variant<command, usage_error> command_from(const scanned& s, const global_options& g) {
    const std::size_t max_positionals =
        s.subcommand == "create-table" || s.subcommand == "list" ? 0 : 1;
    if (s.positionals.size() > max_positionals) {
        return usage_error{"unexpected argument '" + s.positionals[max_positionals] + "'" +
                           (s.subcommand == "run" ? ": put the command after --" : "")};
    }
    if (s.after_dashes && s.subcommand != "run") {
        return usage_error{"dynalock " + s.subcommand + " takes no command after --"};
    }
    auto with_key = [&](auto make) -> std::variant<command, usage_error> {
        auto key = key_from(s, g);
        if (auto* e = std::get_if<usage_error>(&key)) {
            return *e;
        }
        return make(std::get<lock_key>(std::move(key)));
    };
    if (s.subcommand == "create-table") {
        create_table_command c;
        if (auto e = ttl_option(s, c.ttl_attribute)) {
            return *e;
        }
        if (auto it = s.values.find("provisioned"); it != s.values.end()) {
            std::string why;
            c.provisioned = parse_throughput(it->second, why);
            if (!c.provisioned) {
                return usage_error{"--provisioned " + it->second + ": " + why};
            }
        }
        return c;
    }
    if (s.subcommand == "list") {
        return list_command{};
    }
    if (s.subcommand == "show") {
        return with_key([](lock_key k) { return command{show_command{std::move(k)}}; });
    }
    if (s.subcommand == "release") {
        const bool force = s.values.contains("force");
        const bool end_session = s.values.contains("end-session");
        if (end_session && !force) {
            return usage_error{
                "--end-session ends every lock held under the session: it needs --force too"};
        }
        return with_key([force, end_session](lock_key k) {
            return command{release_command{std::move(k), force, end_session}};
        });
    }
    run_command r;
    for (auto [name, field] : {std::pair{"lease", &r.lease},
                               {"heartbeat", &r.heartbeat},
                               {"wait", &r.wait},
                               {"grace", &r.grace}}) {
        if (auto e = duration_option(s, name, *field)) {
            return *e;
        }
    }
    if (auto it = s.values.find("owner"); it != s.values.end()) {
        if (it->second.empty()) {
            return usage_error{"--owner must not be empty"};
        }
        r.owner = it->second;
    }
    if (auto it = s.values.find("data"); it != s.values.end()) {
        r.data = it->second;
    }
    if (auto e = ttl_option(s, r.ttl_attribute)) {
        return *e;
    }
    if (!s.after_dashes || s.after_dashes->empty()) {
        return usage_error{
            "dynalock run needs a command: dynalock run KEY [options] -- CMD [ARGS...]"};
    }
    r.argv = *s.after_dashes;
    return with_key([&r](lock_key k) {
        r.key = std::move(k);
        return command{std::move(r)};
    });
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text, std::string& why) {
    constexpr std::array<std::pair<std::string_view, std::int64_t>, 4> units{
        {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}}};
    const auto digits_end =
        std::ranges::find_if_not(text, [](char c) { return c >= '0' && c <= '9'; });
    const std::string_view number(text.begin(), digits_end);
    const std::string_view unit(digits_end, text.end());
    if (number.empty()) {
        why = "expected a whole number and a unit, like 20s, 500ms, 2m or 1h";
        return std::nullopt;
    }
    auto u = std::ranges::find(units, unit, &std::pair<std::string_view, std::int64_t>::first);
    if (u == units.end()) {
        why = unit.empty() ? "missing unit: write ms, s, m or h after the number"
                           : "unknown unit '" + std::string(unit) + "': use ms, s, m or h";
        return std::nullopt;
    }
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
    if (ec != std::errc{} || value > max_duration.count() / u->second) {
        why = "more than " + std::to_string(max_duration.count() / 3'600'000) +
              "h (7 days), the longest lease";
        return std::nullopt;
    }
    return std::chrono::milliseconds(value * u->second);
}

std::optional<dynamodb::throughput> parse_throughput(std::string_view text, std::string& why) {
    const std::size_t comma = text.find(',');
    auto units = [](std::string_view part) -> std::optional<std::uint64_t> {
        std::uint64_t v = 0;
        auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
        if (part.empty() || ec != std::errc{} || end != part.data() + part.size() || v == 0 ||
            v > max_capacity_units) {
            return std::nullopt;
        }
        return v;
    };
    if (comma != std::string_view::npos) {
        auto read = units(text.substr(0, comma));
        auto write = units(text.substr(comma + 1));
        if (read && write) {
            return dynamodb::throughput{.read_capacity_units = *read,
                                        .write_capacity_units = *write};
        }
    }
    why = "expected RCU,WCU: read and write capacity units, whole numbers from 1 to " +
          std::to_string(max_capacity_units);
    return std::nullopt;
}

std::string program_help() {
    std::string text =
        "usage: dynalock SUBCOMMAND [options]\n\n"
        "Lease-based distributed locks on DynamoDB.\n\nsubcommands:\n";
    for (const auto& s : subcommands) {
        text += "  " + std::string(s.synopsis) + "\n";
    }
    return text + "\n" + std::string(global_help) +
           "\nRun dynalock SUBCOMMAND --help for details.\n";
}

std::string version_text() {
    return "dynalock " DYNALOCK_VERSION_STRING "\n";
}

std::variant<invocation, usage_error> parse_command_line(std::span<const std::string> args,
                                                         const environment& env) {
    auto scan_result = scan(args);
    if (auto* e = std::get_if<usage_error>(&scan_result)) {
        return *e;
    }
    const scanned& s = std::get<scanned>(scan_result);
    const subcommand_spec* sub = s.subcommand.empty() ? nullptr : find_subcommand(s.subcommand);
    if (!s.subcommand.empty() && sub == nullptr) {
        return usage_error{"unknown subcommand '" + s.subcommand +
                           "': use create-table, run, list, show or release"};
    }
    if (s.values.contains("help")) {
        return invocation{.command = print_command{sub ? help_for(*sub) : program_help()}};
    }
    if (s.values.contains("version")) {
        return invocation{.command = print_command{version_text()}};
    }
    if (sub == nullptr) {
        return usage_error{
            "no subcommand: use create-table, run, list, show or release (see dynalock --help)"};
    }
    for (const auto& [name, value] : s.values) {
        if (!find_option(name)->allowed_in(s.subcommand)) {
            return usage_error{"option --" + name + " does not apply to dynalock " + s.subcommand};
        }
    }
    auto globals = globals_from(s, env);
    if (auto* e = std::get_if<usage_error>(&globals)) {
        return *e;
    }
    invocation inv{.global = std::get<global_options>(std::move(globals))};
    auto cmd = command_from(s, inv.global);
    if (auto* e = std::get_if<usage_error>(&cmd)) {
        return *e;
    }
    inv.command = std::get<command>(std::move(cmd));
    return inv;
}

}  // namespace dynalock::cli
