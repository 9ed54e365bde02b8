// The torture checker on synthetic logs: it must fail a run that broke mutual
// exclusion or fencing, and must not fail the races a correct lock allows.

#include "checker.hpp"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

using dynalock::torture::check;
using dynalock::torture::check_protected_items;
using dynalock::torture::check_zombie_writes;
using dynalock::torture::complete_lines;
using dynalock::torture::end_at_death;
using dynalock::torture::format_session;
using dynalock::torture::format_session_kills;
using dynalock::torture::hold;
using dynalock::torture::parse_log;
using dynalock::torture::stored_fences;
using dynalock::torture::worker_counters;
using dynalock::torture::write_outcome;
using dynalock::torture::zombie_write;

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

/// A hold whose writes `accepted` were accepted, the first answered at `first_at`.
hold writing(std::string key, std::uint64_t fence, std::uint64_t accepted, std::int64_t first_at,
             std::uint64_t unknown = 0) {
    hold h = make(std::move(key), fence, "w", 0, 1);
    h.writes_accepted = accepted;
    h.first_accepted_at = accepted > 0 ? first_at : 0;
    h.writes_unknown = unknown;
    return h;
}

zombie_write zombie(std::string key, std::uint64_t fence, std::int64_t sent_at,
                    write_outcome outcome) {
    return {.key = std::move(key), .fence = fence, .sent_at = sent_at, .outcome = outcome};
}

TEST(torture_checker, zombie_writes_are_counted_by_outcome) {
    const auto v = check_zombie_writes(
        {writing("k0", 2, 5, 100)},
        {zombie("k0", 1, 200, write_outcome::refused), zombie("k0", 1, 50, write_outcome::accepted),
         zombie("k0", 1, 300, write_outcome::unknown)});
    EXPECT_EQ(v.writes, 3u);
    EXPECT_EQ(v.refused, 1u);
    EXPECT_EQ(v.accepted, 1u);
    // Sent at 50, before fence 2 was first written at 100: still allowed.
    EXPECT_EQ(v.wrongly_accepted, 0u);
}

TEST(torture_checker, a_zombie_write_accepted_after_a_higher_fence_was_written_fails) {
    const std::vector<hold> holds{writing("k0", 2, 5, 100), writing("k1", 9, 1, 10),
                                  writing("k0", 3, 0, 0)};
    EXPECT_EQ(check_zombie_writes(holds, {zombie("k0", 1, 101, write_outcome::accepted)})
                  .wrongly_accepted,
              1u);
    // A higher fence on another key, or one that never wrote, does not count.
    EXPECT_EQ(check_zombie_writes(holds, {zombie("k0", 2, 101, write_outcome::accepted)})
                  .wrongly_accepted,
              0u);
}

TEST(torture_checker, protected_items_holding_the_highest_accepted_fence_pass) {
    const std::vector<hold> holds{writing("k0", 1, 3, 10), writing("k0", 4, 1, 20),
                                  writing("k0", 5, 0, 0), writing("k1", 2, 1, 10)};
    const auto v = check_protected_items(holds, {zombie("k1", 3, 30, write_outcome::accepted)},
                                         stored_fences{{"k0", 4}, {"k1", 3}, {"k2", {}}});
    EXPECT_EQ(v.checked, 3u);
    EXPECT_EQ(v.mismatches, 0u);
    EXPECT_TRUE(v.details.empty());
}

TEST(torture_checker, a_lost_or_overwritten_accepted_write_is_a_mismatch) {
    const std::vector<hold> holds{writing("k0", 1, 3, 10), writing("k0", 4, 1, 20)};
    // Fence 4 was accepted, yet the item shows 1: lost, or overwritten by 1.
    const auto lower = check_protected_items(holds, {}, stored_fences{{"k0", 1}});
    EXPECT_EQ(lower.checked, 1u);
    EXPECT_EQ(lower.mismatches, 1u);
    ASSERT_EQ(lower.details.size(), 1u);
    EXPECT_EQ(lower.details[0], "k0: stored fence 1, highest accepted 4");

    EXPECT_EQ(check_protected_items(holds, {}, stored_fences{{"k0", {}}}).mismatches, 1u);
    // A fence nobody wrote, and an item where nothing was written.
    EXPECT_EQ(check_protected_items(holds, {}, stored_fences{{"k0", 7}}).mismatches, 1u);
    EXPECT_EQ(check_protected_items(holds, {}, stored_fences{{"k5", 1}}).mismatches, 1u);
}

TEST(torture_checker, a_higher_fence_is_excused_only_by_a_write_of_unknown_outcome) {
    const std::vector<hold> holds{writing("k0", 1, 3, 10), writing("k0", 4, 0, 0, 2)};
    EXPECT_EQ(check_protected_items(holds, {}, stored_fences{{"k0", 4}}).mismatches, 0u);
    EXPECT_EQ(check_protected_items(holds, {}, stored_fences{{"k0", 1}}).mismatches, 0u);
    EXPECT_EQ(check_protected_items(holds, {zombie("k0", 6, 50, write_outcome::unknown)},
                                    stored_fences{{"k0", 6}})
                  .mismatches,
              0u);
    // Refused writes never applied; unknown ones lower than an accepted one
    // cannot excuse a lower stored fence.
    EXPECT_EQ(check_protected_items(holds, {zombie("k0", 6, 50, write_outcome::refused)},
                                    stored_fences{{"k0", 6}})
                  .mismatches,
              1u);
    const std::vector<hold> unknown_below{writing("k0", 1, 0, 0, 1), writing("k0", 4, 1, 20)};
    EXPECT_EQ(check_protected_items(unknown_below, {}, stored_fences{{"k0", 1}}).mismatches, 1u);
}

TEST(torture_checker, session_bound_holds_are_judged_like_any_other) {
    hold bound = make("k0", 2, "s1", 100, 300);
    bound.session = "torture-session/w1-00ff";
    const auto clean = check({make("k0", 1, "a", 0, 100), bound, make("k0", 3, "a", 300, 400)});
    EXPECT_EQ(clean.session_leases, 1u);
    EXPECT_TRUE(clean.passed());
    // Believed until its session's deadline (300) while a took the lock at 250.
    const auto overlapping = check({bound, make("k0", 3, "a", 250, 400)});
    EXPECT_EQ(overlapping.overlaps, 1u);
    EXPECT_FALSE(overlapping.passed());
}

TEST(torture_checker, a_killed_workers_hold_is_believed_until_its_logged_deadline_or_its_death) {
    hold killed = make("k0", 1, "a", 0, 500, "");
    killed.ended.clear();
    // Died after its deadline: believed until the deadline.
    const hold late = end_at_death(killed, 900);
    EXPECT_EQ(late.valid_until, 500);
    EXPECT_EQ(late.ended, "killed");
    EXPECT_EQ(late.writes_unknown, 1u);  // a write may have been out
    EXPECT_TRUE(check({late, make("k0", 2, "b", 600, 700)}).passed());
    EXPECT_EQ(check({late, make("k0", 2, "b", 600, 700)}).takeovers, 1u);
    // Died before it: believed until death.
    const hold early = end_at_death(killed, 300);
    EXPECT_EQ(early.valid_until, 300);
    EXPECT_TRUE(check({early, make("k0", 2, "b", 400, 700)}).passed());
    EXPECT_EQ(check({early, make("k0", 2, "b", 250, 700)}).overlaps, 1u);
}

TEST(torture_checker, logs_round_trip) {
    hold h = make("k2", 42, "w1-123", -5, 7000000000, "stolen");
    h.writes_accepted = 7;
    h.writes_unknown = 2;
    h.first_accepted_at = 123456789;
    h.session = "torture-session/w1-0af3";
    hold own = make("k1", 3, "w1-123", 10, 20);
    const zombie_write z = zombie("k2", 42, 7000000001, write_outcome::refused);
    const worker_counters c{.faults = 1,
                            .protected_writes = 2,
                            .stale_writes_refused = 3,
                            .write_errors = 4,
                            .acquire_errors = 5};
    std::istringstream in(
        format_session(h.session, 9) + format_grant(h, 100) + format_grant(own, 30) +
        format_renewal(h, 200) + format_first_write(h) + format_end(own) + format_renewal(h, 300) +
        format_end(h) + format_line(z) + format_session_kills(2) +
        format_line(zombie("k0", 1, 2, write_outcome::accepted)) + format_session_kills(3) +
        format_line(zombie("k0", 1, 2, write_outcome::unknown)) + format_line(c));
    const auto log = parse_log(in, "w1.log");
    ASSERT_EQ(log.holds.size(), 2u);
    EXPECT_EQ(log.holds[0], own);
    EXPECT_EQ(log.holds[1], h);
    EXPECT_TRUE(log.unfinished.empty());
    ASSERT_EQ(log.zombie_writes.size(), 3u);
    EXPECT_EQ(log.zombie_writes[0], z);
    EXPECT_EQ(log.zombie_writes[1].outcome, write_outcome::accepted);
    EXPECT_EQ(log.zombie_writes[2].outcome, write_outcome::unknown);
    EXPECT_EQ(log.sessions_opened, 1u);
    EXPECT_EQ(log.session_kills, 3u);
    ASSERT_TRUE(log.counters);
    EXPECT_EQ(*log.counters, c);
}

TEST(torture_checker, a_hold_without_its_end_is_unfinished_at_its_last_logged_deadline) {
    hold h = make("k0", 4, "w2-9", 10, 0, "");
    h.first_accepted_at = 50;
    std::istringstream in(format_grant(h, 100) + format_renewal(h, 200) + format_first_write(h) +
                          format_renewal(h, 300));
    const auto log = parse_log(in, "w2.log");
    EXPECT_TRUE(log.holds.empty());
    EXPECT_FALSE(log.counters);
    ASSERT_EQ(log.unfinished.size(), 1u);
    const hold& u = log.unfinished[0];
    EXPECT_EQ(u.valid_until, 300);
    EXPECT_EQ(u.ended, "");
    EXPECT_EQ(u.writes_accepted, 1u);
    EXPECT_EQ(u.first_accepted_at, 50);
    EXPECT_EQ(u.granted_at, 11);
}

// The torture run of 2026-12-07 (seed 700449903): a worker stopped, asked for
// the release, and was killed before the answer came back, after the release
// had freed the lock for the next holder. Its belief ended when it stopped.
TEST(torture_checker, a_hold_killed_while_its_release_was_out_is_believed_until_it_stopped) {
    hold h = make("k0", 57, "w2-9", 10, 0, "");
    std::istringstream in(format_grant(h, 100) + format_renewal(h, 300) + format_stop(h, 120) +
                          format_renewal(h, 400));
    const auto log = parse_log(in, "w2.log");
    ASSERT_EQ(log.unfinished.size(), 1u);
    EXPECT_EQ(log.unfinished[0].valid_until, 120);
    hold next = make("k0", 58, "w3-9", 150, 0, "");
    next.valid_until = 500;
    EXPECT_EQ(check({log.unfinished[0], next}).overlaps, 0u);
    std::istringstream twice(format_grant(h, 100) + format_stop(h, 120) + format_stop(h, 130));
    EXPECT_THROW(parse_log(twice, "w2.log"), std::runtime_error);
}

TEST(torture_checker, a_line_cut_by_a_kill_is_left_out_of_the_killed_workers_log) {
    EXPECT_EQ(complete_lines("grant,k0,1,a,0,1,1,-\nrenew,k0,1,5\nwrote,k0"),
              "grant,k0,1,a,0,1,1,-\nrenew,k0,1,5\n");
    EXPECT_EQ(complete_lines("grant,k0,1,a,0,1,1,-\n"), "grant,k0,1,a,0,1,1,-\n");
    EXPECT_EQ(complete_lines("gra"), "");
    EXPECT_EQ(complete_lines(""), "");
}

TEST(torture_checker, a_log_without_counters_says_so) {
    const hold h = make("k0", 1, "a", 0, 1);
    std::istringstream in(format_grant(h, 1) + format_end(h));
    EXPECT_FALSE(parse_log(in, "w0.log").counters);
}

TEST(torture_checker, malformed_lines_are_rejected_with_their_place) {
    for (const char* text : {
             "grant,k0,1,a,0,1,1\n",
             "grant,k0,x,a,0,1,1,-\n",
             "grant,k0,1,a,0,1,1,-,0\n",
             "grant,k0,1,a,0,1,1,-\ngrant,k0,1,a,0,1,1,-\n",  // granted twice
             "end,k0,1,5,released,0,0\n",                     // no grant
             "renew,k0,1,5\n",
             "wrote,k0,1,5\n",
             "grant,k0,1,a,0,1,1,-\nend,k0,2,5,released,0,0\n",
             "grant,k0,1,a,0,1,1,-\nend,k0,1,5,,0,0\n",
             "grant,k0,1,a,0,1,1,-\nrenew,k0,1,soon\n",
             "counters,1,2,3,4,5\ngrant,k0,1,a,0,1,1,-\n",
             "zombie,k0,1,5,maybe\n",
             "zombie,,1,5,refused\n",
             "zombie,k0,1,refused\n",
             "session,,3\n",
             "session_kills,-1\n",
             "hold,k0,1,a,0,1,1,released,0,0,0\n",  // the old format
             "garbage\n",
         }) {
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
