// The torture run's flags, and the number parsing the benches share with it:
// a value out of range (NaN, infinity and overflow included) is refused
// naming the flag, the range and the value; `torture --help` prints the
// usage and succeeds (the program itself is run, named by TORTURE_PROGRAM).

#include "harness/command_line.hpp"
#include "options.hpp"
#include "process/child_process.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace dynalock::torture {
namespace {

options parse(std::vector<std::string> args) {
    args.insert(args.begin(), "torture");
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    return parse_options(static_cast<int>(argv.size()), argv.data());
}

std::string refusal(std::vector<std::string> args) {
    try {
        parse(std::move(args));
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "accepted";
}

TEST(TortureFlags, ValuesInRangeAreTaken) {
    const options o = parse({"--seconds", "2.5", "--processes=8", "--keys", "1000", "--lease-ms",
                             "600000", "--seed", "18446744073709551615"});
    EXPECT_EQ(o.seconds, 2.5);
    EXPECT_EQ(o.processes, 8);
    EXPECT_EQ(o.keys, 1000);
    EXPECT_EQ(o.lease.count(), 600000);
    EXPECT_EQ(o.seed, UINT64_MAX);
    EXPECT_TRUE(o.seed_given);
}

TEST(TortureFlags, ValuesOutOfRangeNameTheFlagAndTheRange) {
    EXPECT_EQ(refusal({"--lease-ms", "99999999999"}),
              "--lease-ms: expected a number from 100 to 600000, got '99999999999'");
    EXPECT_EQ(refusal({"--processes", "0"}),
              "--processes: expected a number from 1 to 64, got '0'");
    EXPECT_EQ(refusal({"--seconds", "nan"}),
              "--seconds: expected a number from 0.1 to 1e+07, got 'nan'");
    EXPECT_EQ(refusal({"--seconds", "inf"}),
              "--seconds: expected a number from 0.1 to 1e+07, got 'inf'");
    EXPECT_EQ(refusal({"--seed", "18446744073709551616"}),
              "--seed: expected a number from 0 to 18446744073709551615, got "
              "'18446744073709551616'");
    EXPECT_EQ(refusal({"--keys", "3x"}), "--keys: expected a number from 1 to 1000, got '3x'");
}

TEST(TortureFlags, ModeNamesTheKindOfWorkers) {
    EXPECT_EQ(parse({}).mode, worker_mode::mixed);
    EXPECT_EQ(parse({"--mode", "per-lock"}).mode, worker_mode::per_lock);
    EXPECT_EQ(parse({"--mode=session", "--processes", "1"}).mode, worker_mode::session);
    EXPECT_EQ(refusal({"--mode", "sessions"}),
              "--mode: expected mixed, per-lock or session, got 'sessions'");
    EXPECT_EQ(refusal({"--mode", "mixed", "--processes", "1"}),
              "--mode mixed needs at least 2 processes (one of each kind); use --mode per-lock "
              "or --mode session for one");
    EXPECT_EQ(refusal({"--processes", "1"}), refusal({"--mode", "mixed", "--processes", "1"}));
}

TEST(TortureFlags, MixedRunsAlternateTheKindsOfWorkers) {
    EXPECT_EQ(mode_of_worker(worker_mode::mixed, 0), worker_mode::per_lock);
    EXPECT_EQ(mode_of_worker(worker_mode::mixed, 1), worker_mode::session);
    EXPECT_EQ(mode_of_worker(worker_mode::mixed, 2), worker_mode::per_lock);
    EXPECT_EQ(mode_of_worker(worker_mode::mixed, 63), worker_mode::session);
    EXPECT_EQ(mode_of_worker(worker_mode::session, 0), worker_mode::session);
    EXPECT_EQ(mode_of_worker(worker_mode::per_lock, 1), worker_mode::per_lock);
}

TEST(TortureFlags, AWorkerIsOfOneKind) {
    const std::vector<std::string> worker{"--worker",
                                          "--endpoint-url",
                                          "http://127.0.0.1:1",
                                          "--lock-table",
                                          "l",
                                          "--data-table",
                                          "d",
                                          "--log",
                                          "w.log"};
    auto with = [&](std::vector<std::string> more) {
        more.insert(more.begin(), worker.begin(), worker.end());
        return more;
    };
    EXPECT_EQ(parse(with({"--mode", "session"})).mode, worker_mode::session);
    EXPECT_EQ(refusal(with({})), "--worker needs --mode per-lock or --mode session");
    EXPECT_EQ(refusal({"--worker", "--mode", "session"}),
              "--worker needs --endpoint-url, --lock-table, --data-table and --log");
}

TEST(TortureFlags, HelpWinsOverEveryOtherFlag) {
    EXPECT_TRUE(parse({"--help"}).help);
    EXPECT_TRUE(parse({"-h"}).help);
    EXPECT_TRUE(parse({"--mode", "bogus", "--help"}).help);
    EXPECT_TRUE(parse({"--seconds", "1", "--help"}).help);
    EXPECT_FALSE(parse({}).help);
    EXPECT_EQ(refusal({"--bogus", "1"}), "unknown flag --bogus (torture --help lists them)");
}

TEST(TortureFlags, TheUsageNamesEveryFlagOfARun) {
    const std::string text = usage();
    for (const char* flag : {"--seconds", "--processes", "--keys", "--lease-ms", "--mode", "--seed",
                             "--endpoint-url", "--help"}) {
        EXPECT_NE(text.find(flag), std::string::npos) << flag;
    }
    EXPECT_EQ(text.find("--worker"), std::string::npos)
        << "the supervisor's own flags are internal";
}

TEST(TortureProgram, HelpPrintsTheUsageAndSucceeds) {
    const char* program = std::getenv("TORTURE_PROGRAM");
    ASSERT_TRUE(program != nullptr && *program != '\0') << "TORTURE_PROGRAM is not set";
    int out[2];
    ASSERT_EQ(::pipe2(out, O_CLOEXEC), 0);
    error_code ec;
    const pid_t pid = process::spawn({.argv = {program, "--help"},
                                      .standard_input = process::null_device,
                                      .standard_output = out[1]},
                                     ec);
    ::close(out[1]);
    ASSERT_GT(pid, 0) << ec.message();
    std::string printed;
    char buffer[4096];
    for (;;) {
        const ssize_t n = ::read(out[0], buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        printed.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(out[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status)) << "wait status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_EQ(printed, usage());
}

TEST(BenchNumbers, AreRangeCheckedWithTheFlagNamed) {
    EXPECT_EQ(harness::parse_number("--lease-ms", "3600000", 1, 3'600'000), 3'600'000);
    EXPECT_EQ(harness::parse_number("--seconds", "0.5", 0.001, 3600.0), 0.5);
    try {
        harness::parse_number("--leases", "99999999999", 1, 10'000'000);
        ADD_FAILURE() << "accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "--leases: expected a number from 1 to 10000000, got '99999999999'");
    }
    EXPECT_THROW(harness::parse_number("--seconds", "-nan", 0.001, 3600.0), std::invalid_argument);
}

}  // namespace
}  // namespace dynalock::torture
