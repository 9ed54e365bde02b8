// lock::session_ended, the rule of when a session has ended for the locks
// held under it, on every kind of item a read can find: contenders,
// async_observe_session and the CLI's session states all judge by it.

#include "lock/session_end.hpp"
#include "support/session_item.hpp"

#include <gtest/gtest.h>

namespace dynalock::lock {
namespace {

using dynalock::test::session_item;

TEST(SessionEnded, NotWhileTheItemIsThereUnreleasedAtTheEpoch) {
    EXPECT_FALSE(session_ended(session_item(3), 3));
}

TEST(SessionEnded, WithoutItem) {
    EXPECT_TRUE(session_ended(std::nullopt, 0));
    EXPECT_TRUE(session_ended(std::nullopt, 3));
}

TEST(SessionEnded, WhenReleased) {
    lock_record released = session_item(3);
    released.released = true;
    EXPECT_TRUE(session_ended(released, 3));
}

TEST(SessionEnded, AtAnotherEpochEitherWay) {
    EXPECT_TRUE(session_ended(session_item(4), 3));
    EXPECT_TRUE(session_ended(session_item(2), 3));
}

TEST(SessionEnded, AnItemWithoutFenceIsAtEpochZero) {
    lock_record no_fence = session_item(0);
    no_fence.fence.reset();
    EXPECT_FALSE(session_ended(no_fence, 0));
    EXPECT_TRUE(session_ended(no_fence, 1));
}

TEST(SessionEnded, AMalformedItemNeitherEndsNorKeepsTheSession) {
    lock_record bad = session_item(3);
    bad.malformed = "leaseDuration is the string \"x\", expected ...";
    EXPECT_FALSE(session_ended(bad, 3));
    EXPECT_TRUE(session_ended(bad, 4));
    bad.released = true;
    EXPECT_TRUE(session_ended(bad, 3));
}

}  // namespace
}  // namespace dynalock::lock
