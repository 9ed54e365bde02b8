#include "command_line.hpp"
#include "exit_status.hpp"

#include <dynalock/version.hpp>

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <map>

namespace dynalock::cli {
namespace {

using namespace std::chrono_literals;

struct parser {
    std::map<std::string, std::string, std::less<>> env{{"DYNALOCK_TABLE", "locks"}};

    std::variant<invocation, usage_error> operator()(std::vector<std::string> args) const {
        return parse_command_line(
            args, [this](std::string_view name) -> std::optional<std::string> {
                auto it = env.find(name);
                return it == env.end() ? std::nullopt : std::optional(it->second);
            });
    }
};

invocation parsed(std::variant<invocation, usage_error> r) {
    if (auto* e = std::get_if<usage_error>(&r)) {
        ADD_FAILURE() << "usage error: " << e->message;
        return {};
    }
    return std::get<invocation>(std::move(r));
}

std::string error_of(std::variant<invocation, usage_error> r) {
    if (auto* e = std::get_if<usage_error>(&r)) {
        return e->message;
    }
    ADD_FAILURE() << "parsed although it should not";
    return {};
}

TEST(Duration, UnitsAndValues) {
    std::string why;
    EXPECT_EQ(parse_duration("20s", why), 20s);
    EXPECT_EQ(parse_duration("500ms", why), 500ms);
    EXPECT_EQ(parse_duration("2m", why), 2min);
    EXPECT_EQ(parse_duration("1h", why), 1h);
    EXPECT_EQ(parse_duration("0s", why), 0ms);
}

TEST(Duration, RejectsWithAReason) {
    for (const char* bad : {"", "20", "s", "-1s", "1.5s", "20 s", "20sec", "1d",
                            "99999999999999999999h", "9223372036854775807h"}) {
        std::string why;
        EXPECT_EQ(parse_duration(bad, why), std::nullopt) << bad;
        EXPECT_FALSE(why.empty()) << bad;
    }
    std::string why;
    parse_duration("20", why);
    EXPECT_NE(why.find("missing unit"), std::string::npos) << why;
}

TEST(Duration, AtMostTheLongestLease) {
    std::string why;
    EXPECT_EQ(parse_duration("168h", why), max_duration);
    EXPECT_EQ(parse_duration("10080m", why), max_duration);
    EXPECT_EQ(parse_duration("604800000ms", why), max_duration);
    // Overflowing or merely too long: the same reason, naming the limit.
    for (const char* bad :
         {"169h", "10081m", "604800001ms", "99999999999h", "99999999999999999999999h"}) {
        why.clear();
        EXPECT_EQ(parse_duration(bad, why), std::nullopt) << bad;
        EXPECT_EQ(why, "more than 168h (7 days), the longest lease") << bad;
    }
}

TEST(Throughput, ReadAndWriteUnits) {
    std::string why;
    auto t = parse_throughput("5,10", why);
    ASSERT_TRUE(t);
    EXPECT_EQ(t->read_capacity_units, 5u);
    EXPECT_EQ(t->write_capacity_units, 10u);
    for (const char* bad : {"", "5", "5,", ",5", "0,1", "1,0", "a,b", "1,2,3", "-1,2", "1000001,1",
                            "1,99999999999999999999999"}) {
        EXPECT_EQ(parse_throughput(bad, why), std::nullopt) << bad;
        EXPECT_NE(why.find("from 1 to 1000000"), std::string::npos) << why;
    }
    EXPECT_TRUE(parse_throughput("1000000,1000000", why));
}

TEST(CommandLine, RunWithEveryOption) {
    auto inv = parsed(parser{}({"run", "job", "--lease", "9s", "--heartbeat=3s", "--wait", "1s",
                                "--grace", "250ms", "--owner", "me", "--data", "hello", "--json",
                                "--", "sh", "-c", "echo --lease"}));
    ASSERT_TRUE(std::holds_alternative<run_command>(inv.command));
    const auto& r = std::get<run_command>(inv.command);
    EXPECT_EQ(r.key.partition, "job");
    EXPECT_EQ(r.key.sort, std::nullopt);
    EXPECT_EQ(r.lease, 9s);
    EXPECT_EQ(r.heartbeat, 3s);
    EXPECT_EQ(r.wait, 1s);
    EXPECT_EQ(r.grace, 250ms);
    EXPECT_EQ(r.owner, "me");
    EXPECT_EQ(r.data, "hello");
    EXPECT_EQ(r.argv, (std::vector<std::string>{"sh", "-c", "echo --lease"}));
    EXPECT_TRUE(inv.global.json);
    EXPECT_EQ(inv.global.table, "locks");
}

TEST(CommandLine, RunDefaults) {
    auto inv = parsed(parser{}({"run", "job", "--", "true"}));
    const auto& r = std::get<run_command>(inv.command);
    EXPECT_EQ(r.lease, 20s);
    EXPECT_EQ(r.heartbeat, 5s);
    EXPECT_EQ(r.wait, 30s);
    EXPECT_EQ(r.grace, 10s);
    EXPECT_EQ(r.data, std::nullopt);
    EXPECT_EQ(inv.global.partition_key_name, "key");
    EXPECT_FALSE(inv.global.json);
}

TEST(CommandLine, GlobalOptionsAnywhereAndOverTheEnvironment) {
    parser p;
    p.env["DYNALOCK_PARTITION_KEY_NAME"] = "pk";
    p.env["DYNALOCK_JSON"] = "true";
    auto inv = parsed(p({"--table", "t1", "--region=eu-west-1", "list", "--profile", "ops",
                         "--endpoint-url", "http://127.0.0.1:1"}));
    EXPECT_TRUE(std::holds_alternative<list_command>(inv.command));
    EXPECT_EQ(inv.global.table, "t1");
    EXPECT_EQ(inv.global.region, "eu-west-1");
    EXPECT_EQ(inv.global.profile, "ops");
    EXPECT_EQ(inv.global.endpoint_url, "http://127.0.0.1:1");
    EXPECT_EQ(inv.global.partition_key_name, "pk");
    EXPECT_TRUE(inv.global.json);
}

TEST(CommandLine, SortKeyNeedsBothNameAndValue) {
    auto inv = parsed(parser{}({"show", "k", "--sort-key-name", "sk", "--sort-key", "a"}));
    EXPECT_EQ(std::get<show_command>(inv.command).key.sort, "a");
    EXPECT_NE(error_of(parser{}({"show", "k", "--sort-key-name", "sk"})).find("--sort-key VALUE"),
              std::string::npos);
    EXPECT_NE(error_of(parser{}({"show", "k", "--sort-key", "a"})).find("--sort-key-name"),
              std::string::npos);
}

TEST(CommandLine, CreateTableAndRelease) {
    auto c =
        parsed(parser{}({"create-table", "--ttl-attribute", "expires", "--provisioned", "2,3"}));
    const auto& ct = std::get<create_table_command>(c.command);
    EXPECT_EQ(ct.ttl_attribute, "expires");
    ASSERT_TRUE(ct.provisioned);
    EXPECT_EQ(ct.provisioned->write_capacity_units, 3u);
    const auto forced =
        std::get<release_command>(parsed(parser{}({"release", "k", "--force"})).command);
    EXPECT_TRUE(forced.force);
    EXPECT_FALSE(forced.end_session);
    EXPECT_FALSE(std::get<release_command>(parsed(parser{}({"release", "k"})).command).force);
    const auto ending = std::get<release_command>(
        parsed(parser{}({"release", "k", "--end-session", "--force"})).command);
    EXPECT_TRUE(ending.force);
    EXPECT_TRUE(ending.end_session);
}

TEST(CommandLine, VersionIsTheProjectsWithoutATable) {
    parser p;
    p.env.clear();
    for (const auto& args :
         std::vector<std::vector<std::string>>{{"--version"}, {"list", "--version"}}) {
        auto inv = parsed(p(args));
        ASSERT_TRUE(std::holds_alternative<print_command>(inv.command));
        // DYNALOCK_PROJECT_VERSION: meson's project version, passed by test/cli/meson.build.
        EXPECT_EQ(std::get<print_command>(inv.command).text,
                  "dynalock " DYNALOCK_PROJECT_VERSION "\n");
    }
    EXPECT_EQ(std::string(DYNALOCK_VERSION_STRING), std::to_string(DYNALOCK_VERSION_MAJOR) + "." +
                                                        std::to_string(DYNALOCK_VERSION_MINOR) +
                                                        "." +
                                                        std::to_string(DYNALOCK_VERSION_PATCH));
    EXPECT_NE(program_help().find("--version"), std::string::npos);
}

TEST(CommandLine, RunTakesATtlAttribute) {
    auto inv = parsed(parser{}({"run", "k", "--ttl-attribute", "expires", "--", "true"}));
    EXPECT_EQ(std::get<run_command>(inv.command).ttl_attribute, "expires");
    EXPECT_TRUE(std::get<run_command>(parsed(parser{}({"run", "k", "--", "true"})).command)
                    .ttl_attribute.empty());
    EXPECT_NE(error_of(parser{}({"run", "k", "--ttl-attribute=", "--", "true"})).find("empty"),
              std::string::npos);
    EXPECT_NE(error_of(parser{}({"list", "--ttl-attribute", "x"})).find("ttl-attribute"),
              std::string::npos);
}

TEST(CommandLine, HelpEverywhereWithoutATable) {
    parser p;
    p.env.clear();
    const std::vector<std::vector<std::string>> asks{
        {"--help"}, {"run", "--help"}, {"create-table", "-h"}};
    for (const auto& args : asks) {
        auto inv = parsed(p(args));
        ASSERT_TRUE(std::holds_alternative<print_command>(inv.command));
        EXPECT_NE(std::get<print_command>(inv.command).text.find("usage: dynalock"),
                  std::string::npos);
    }
    EXPECT_NE(
        std::get<print_command>(parsed(p({"release", "--help"})).command).text.find("--force"),
        std::string::npos);
}

TEST(CommandLine, UsageErrorsNameWhatToFix) {
    parser no_table;
    no_table.env.clear();
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases{
        {{"list"}, "DYNALOCK_TABLE"},
        {{}, "no subcommand"},
        {{"lsit"}, "unknown subcommand 'lsit'"},
        {{"list", "--bogus"}, "unknown option --bogus"},
        {{"list", "-x"}, "unknown option -x"},
        {{"list", "--lease", "1s"}, "--lease does not apply to dynalock list"},
        {{"run", "--", "true"}, "needs a lock KEY"},
        {{"run", "k"}, "needs a command"},
        {{"run", "k", "--"}, "needs a command"},
        {{"run", "k", "true"}, "put the command after --"},
        {{"run", "k", "--lease", "20", "--", "true"}, "--lease 20: missing unit"},
        {{"run", "k", "--wait", "soon", "--", "true"}, "--wait soon"},
        {{"run", "k", "--lease"}, "--lease needs a value"},
        {{"run", "", "--", "true"}, "must not be empty"},
        {{"list", "--json=1"}, "takes no value"},
        {{"show"}, "needs a lock KEY"},
        {{"show", "a", "b"}, "unexpected argument 'b'"},
        {{"list", "--", "x"}, "takes no command after --"},
        {{"create-table", "--provisioned", "0,1"}, "--provisioned 0,1"},
        {{"run", "k", "--lease", "99999999999h", "--", "true"},
         "--lease 99999999999h: more than 168h (7 days)"},
        {{"run", "k", "--heartbeat", "200h", "--", "true"}, "--heartbeat 200h: more than 168h"},
        {{"run", "k", "--wait", "10081m", "--", "true"}, "--wait 10081m: more than 168h"},
        {{"run", "k", "--grace", "604800001ms", "--", "true"}, "--grace 604800001ms: more than"},
        {{"release", "k", "--end-session"},
         "--end-session ends every lock held under the session: it needs --force"},
        {{"show", "k", "--end-session"}, "--end-session does not apply to dynalock show"},
        {{"--version=1"}, "takes no value"},
    };
    for (const auto& [args, expected] : cases) {
        const parser& p = expected == "DYNALOCK_TABLE" ? no_table : parser{};
        const std::string message = error_of(p(args));
        EXPECT_NE(message.find(expected), std::string::npos)
            << "got '" << message << "', expected it to mention '" << expected << "'";
    }
    parser bad_json;
    bad_json.env["DYNALOCK_JSON"] = "yes";
    EXPECT_NE(error_of(bad_json({"list"})).find("DYNALOCK_JSON"), std::string::npos);
}

TEST(ExitStatus, ForErrors) {
    EXPECT_EQ(exit_status_for(make_error_code(errc::lock_not_granted)), 75);
    EXPECT_EQ(exit_status_for(make_error_code(errc::lease_lost)), 76);
    EXPECT_EQ(exit_status_for(make_error_code(errc::malformed_item)), 65);
    EXPECT_EQ(exit_status_for(make_error_code(errc::fence_exhausted)), 65);
    for (errc e : {errc::invalid_argument, errc::region_missing, errc::invalid_endpoint,
                   errc::invalid_config}) {
        EXPECT_EQ(exit_status_for(make_error_code(e)), 64) << make_error_code(e).message();
    }
    for (errc e : {errc::resource_not_found, errc::access_denied, errc::credentials_unavailable,
                   errc::unrecognized_client, errc::connect_failed, errc::timeout, errc::throttled,
                   errc::signature_rejected}) {
        EXPECT_EQ(exit_status_for(make_error_code(e)), 69) << make_error_code(e).message();
    }
    EXPECT_EQ(exit_status_for(
                  boost::system::errc::make_error_code(boost::system::errc::connection_refused)),
              69);
}

TEST(ExitStatus, ForTheCommand) {
    auto exited = [](int code) { return code << 8; };  // as waitpid encodes a normal exit
    EXPECT_EQ(exit_status_for_command(exited(0), true), 0);
    EXPECT_EQ(exit_status_for_command(exited(3), true), 3);
    EXPECT_EQ(exit_status_for_command(SIGTERM, true), 128 + SIGTERM);  // killed by SIGTERM
    EXPECT_EQ(exit_status_for_command(exited(0), false), 76);
    EXPECT_EQ(exit_status_for_command(SIGKILL, false), 76);
    ASSERT_TRUE(WIFEXITED(exited(3)));
    ASSERT_TRUE(WIFSIGNALED(SIGTERM));
}

}  // namespace
}  // namespace dynalock::cli
