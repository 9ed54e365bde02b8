// The state `dynalock list`, `show` and `release` give a lock held under a
// session, from one read of the session's item. Also how `release
// --end-session` tells a failed condition apart: the item it gets back is
// judged by the same function (held: the session heartbeated and is alive;
// otherwise it ended meanwhile), a race no real server can be made to lose on
// cue, hence checked here on the function alone.

#include "session_state.hpp"
#include "support/session_item.hpp"

#include <gtest/gtest.h>

namespace dynalock::cli {
namespace {

using dynalock::test::session_item;

TEST(SessionState, HeldWhileTheItemIsThereUnreleasedAtTheEpoch) {
    EXPECT_EQ(state_of(session_item(3), 3), session_state::held);
}

TEST(SessionState, EndedWhenReleasedOrAtAnotherEpoch) {
    lock_record released = session_item(3);
    released.released = true;
    EXPECT_EQ(state_of(released, 3), session_state::ended);
    EXPECT_EQ(state_of(session_item(4), 3), session_state::ended);
    EXPECT_EQ(state_of(session_item(2), 3), session_state::ended);
    lock_record no_fence = session_item(0);
    no_fence.fence.reset();
    EXPECT_EQ(state_of(no_fence, 1), session_state::ended);
    EXPECT_EQ(state_of(no_fence, 0), session_state::held);
}

TEST(SessionState, GoneWithoutItem) {
    EXPECT_EQ(state_of(std::nullopt, 1), session_state::gone);
}

TEST(SessionState, MalformedOnlyWhenNothingElseFreesTheLock) {
    lock_record bad = session_item(3);
    bad.malformed = "leaseDuration is the string \"x\", expected ...";
    EXPECT_EQ(state_of(bad, 3), session_state::malformed);
    bad.released = true;
    EXPECT_EQ(state_of(bad, 3), session_state::ended);
}

TEST(SessionState, Names) {
    EXPECT_EQ(to_string(session_state::held), "held");
    EXPECT_EQ(to_string(session_state::ended), "ended");
    EXPECT_EQ(to_string(session_state::gone), "gone");
    EXPECT_EQ(to_string(session_state::malformed), "malformed");
}

}  // namespace
}  // namespace dynalock::cli
