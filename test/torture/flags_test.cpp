// The torture run's flags, and the number parsing the benches share with it:
// a value out of range (NaN, infinity and overflow included) is refused
// naming the flag, the range and the value.

#include "harness/command_line.hpp"
#include "options.hpp"

#include <gtest/gtest.h>

#include <cstdint>
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
