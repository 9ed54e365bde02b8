// Record versions must never repeat: not across calls, not across a fork.

#include "lock/lock_item.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>
#include <string>

using namespace dynalock;

namespace {

TEST(RecordVersion, ThirtyTwoHexDigitsAndNoRepeats) {
    std::set<std::string> seen;
    for (int i = 0; i < 10'000; ++i) {  // many refills of the block
        const std::string v = lock::new_record_version();
        ASSERT_EQ(v.size(), 32u);
        ASSERT_EQ(v.find_first_not_of("0123456789abcdef"), std::string::npos) << v;
        ASSERT_TRUE(seen.insert(v).second) << "repeated: " << v;
    }
}

TEST(RecordVersion, AForkedChildNeverRepeatsItsParentsVersions) {
    static_cast<void>(lock::new_record_version());  // the parent's block is drawn
    std::array<int, 2> pipe_fds{};
    ASSERT_EQ(::pipe(pipe_fds.data()), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const std::string v = lock::new_record_version();
        const auto written = ::write(pipe_fds[1], v.data(), v.size());
        ::_exit(written == static_cast<ssize_t>(v.size()) ? 0 : 1);
    }
    ::close(pipe_fds[1]);
    const std::string mine = lock::new_record_version();
    std::string theirs(32, '\0');
    ssize_t got = 0;
    while (got < 32) {
        const auto n = ::read(pipe_fds[0], theirs.data() + got, 32 - static_cast<std::size_t>(got));
        if (n <= 0) {
            break;
        }
        got += n;
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(got, 32);
    EXPECT_NE(mine, theirs) << "parent and child handed out the same version";
}

TEST(RandomUnit, StaysInTheHalfOpenUnitInterval) {
    for (int i = 0; i < 10'000; ++i) {
        const double u = lock::random_unit();
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
    }
}

}  // namespace
