// The torture checker on synthetic logs: it must fail a run that broke mutual
// exclusion or fencing, and must not fail the races a correct lock allows.

#include "checker.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

using dynalock::torture::check;
using dynalock::torture::hold;
using dynalock::torture::parse_log;
using dynalock::torture::worker_counters;

namespace {

hold make(std::string key, std::uint64_t fence, std::string owner, std::int64_t from,
          std::int64_t until, std::string ended = "released") {
    return {.key = std::move(key),
            .fence = fence,
            .owner = std::move(owner),
            .valid_from = from,
            .valid_until = until,
            .granted_at = from + 1,
            .ended = std::move(ended)};
}

TEST(torture_checker, a_clean_history_passes) {
    const auto v = check({make("k0", 1, "a", 0, 100), make("k0", 2, "b", 100, 200, "expired"),
                          make("k0", 3, "a", 300, 400), make("k1", 1, "b", 50, 350)});
    EXPECT_EQ(v.acquisitions, 4u);
    EXPECT_EQ(v.overlaps, 0u);
    EXPECT_EQ(v.fence_regressions, 0u);
    EXPECT_EQ(v.takeovers, 1u);  // a took k0 from b, which had not released
    EXPECT_TRUE(v.passed());
}

TEST(torture_checker, intersecting_holders_of_one_key_fail) {
    const auto v = check(
        {make("k0", 1, "a", 0, 150), make("k0", 2, "b", 100, 200), make("k0", 3, "c", 120, 130)});
    EXPECT_EQ(v.overlaps, 3u);  // a-b, a-c, b-c
    EXPECT_EQ(v.fence_regressions, 0u);
    EXPECT_FALSE(v.passed());
}

TEST(torture_checker, a_later_grant_with_a_smaller_or_equal_fence_fails) {
    const auto smaller = check({make("k0", 5, "a", 0, 100), make("k0", 4, "b", 200, 300)});
    EXPECT_EQ(smaller.fence_regressions, 1u);
    EXPECT_EQ(smaller.overlaps, 0u);
    EXPECT_FALSE(smaller.passed());

    const auto equal = check({make("k0", 5, "a", 0, 100), make("k0", 5, "b", 200, 300)});
    EXPECT_EQ(equal.fence_regressions, 1u);
    EXPECT_FALSE(equal.passed());
}

TEST(torture_checker, an_overlap_and_a_regression_are_both_counted) {
    const auto v = check(
        {make("k0", 7, "a", 0, 100), make("k0", 6, "b", 50, 150), make("k1", 1, "a", 0, 100)});
    EXPECT_EQ(v.overlaps, 1u);
    EXPECT_EQ(v.fence_regressions, 1u);
    EXPECT_FALSE(v.passed());
}

TEST(torture_checker, different_keys_never_overlap) {
    EXPECT_TRUE(check({make("k0", 1, "a", 0, 100), make("k1", 1, "b", 0, 100)}).passed());
}

TEST(torture_checker, a_grant_whose_write_lingered_is_judged_from_its_answer) {
    // b sent its grant of the released lock at 0, a took and released it
    // meanwhile (fence 1), then b's write applied (fence 2) and answered at 300.
    hold late = make("k0", 2, "b", 0, 900);
    late.granted_at = 300;
    EXPECT_TRUE(check({make("k0", 1, "a", 100, 200), late}).passed());
}

TEST(torture_checker, a_grant_that_arrived_expired_is_no_regression_unless_its_fence_repeats) {
    // a's grant (fence 1) answered after its deadline: never believed.
    hold expired = make("k0", 1, "a", 0, 100, "expired");
    expired.granted_at = 500;
    EXPECT_TRUE(check({make("k0", 2, "b", 200, 400), expired}).passed());

    hold repeated = expired;
    repeated.fence = 2;
    EXPECT_EQ(check({make("k0", 2, "b", 200, 400), repeated}).fence_regressions, 1u);
}

TEST(torture_checker, nothing_acquired_fails) {
    EXPECT_FALSE(check({}).passed());
}

TEST(torture_checker, logs_round_trip) {
    const hold h = make("k2", 42, "w1-123", -5, 7000000000, "stolen");
    const worker_counters c{.faults = 1,
                            .protected_writes = 2,
                            .stale_writes_refused = 3,
                            .write_errors = 4,
                            .acquire_errors = 5};
    std::istringstream in(format_line(h) + format_line(h) + format_line(c));
    const auto log = parse_log(in, "w1.log");
    ASSERT_EQ(log.holds.size(), 2u);
    EXPECT_EQ(log.holds[0], h);
    ASSERT_TRUE(log.counters);
    EXPECT_EQ(*log.counters, c);
}

TEST(torture_checker, a_log_without_counters_says_so) {
    std::istringstream in(format_line(make("k0", 1, "a", 0, 1)));
    EXPECT_FALSE(parse_log(in, "w0.log").counters);
}

TEST(torture_checker, malformed_lines_are_rejected_with_their_place) {
    for (const char* text : {"hold,k0,1,a,0,1,1\n", "hold,k0,x,a,0,1,1,released\n",
                             "counters,1,2,3,4,5\nhold,k0,1,a,0,1,1,released\n", "garbage\n"}) {
        std::istringstream in(text);
        try {
            parse_log(in, "w3.log");
            ADD_FAILURE() << "accepted: " << text;
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("w3.log:"), std::string::npos) << e.what();
        }
    }
}

}  // namespace
