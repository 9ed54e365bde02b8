// Record versions must never repeat: not across calls, not across a fork.
// Items are read strictly, and what is wrong with one is said precisely.
// The conditions memory_store applies (and dynamodb_store sends) hold the
// fence below the largest a client can hold.

#include "lock/lock_item.hpp"

#include "foreign_row.hpp"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <limits>
#include <set>
#include <string>

using namespace dynalock;
using std::chrono::milliseconds;

namespace {

const lock::key_schema schema{"key", ""};

/// test::foreign_row("k", changes), parsed.
lock_record parsed(const item& changes) {
    lock_record r;
    std::string why;
    EXPECT_FALSE(lock::parse_lock_item(test::foreign_row("k", changes), schema, r, why)) << why;
    return r;
}

TEST(LockItem, AWellFormedItemIsReadIntoItsFields) {
    const lock_record r = parsed({{"fence", attribute_value{number{"18446744073709551615"}}},
                                  {"leaseDuration", attribute_value{number{"604800000"}}},
                                  {"isReleased", attribute_value{"1"}},
                                  {"team", attribute_value{"blue"}}});
    EXPECT_FALSE(r.malformed) << *r.malformed;
    EXPECT_EQ(r.key, lock_key{"k"});
    EXPECT_EQ(r.owner, "other-tool");
    EXPECT_EQ(r.record_version, "r1");
    EXPECT_EQ(r.lease, max_lease);
    EXPECT_EQ(r.fence, std::optional(std::numeric_limits<std::uint64_t>::max()));
    EXPECT_TRUE(r.released);
    EXPECT_EQ(r.other, (attribute_map{{"team", attribute_value{"blue"}}}));
}

TEST(LockItem, EachDeviationIsNamedWithItsValueAndWhatWasExpected) {
    const attribute_value absent{null_value{}};
    const std::vector<std::pair<item, std::string>> cases{
        {{{"leaseDuration", attribute_value{"abc"}}},
         "leaseDuration is the string \"abc\", expected a whole number of milliseconds from 0 to "
         "604800000 (7 days)"},
        {{{"leaseDuration", attribute_value{"99999999999999999999999"}}},
         "leaseDuration is the string \"99999999999999999999999\", expected a whole number"},
        {{{"leaseDuration", attribute_value{"604800001"}}}, "leaseDuration is the string"},
        {{{"leaseDuration", attribute_value{number{"-5"}}}}, "leaseDuration is the number -5,"},
        {{{"leaseDuration", attribute_value{number{"1.5"}}}}, "leaseDuration is the number 1.5,"},
        {{{"leaseDuration", absent}}, "leaseDuration is missing, expected a whole number"},
        {{{"ownerName", absent}}, "ownerName is missing, expected a string"},
        {{{"ownerName", attribute_value{number{"7"}}}},
         "ownerName is the number 7, expected a string"},
        {{{"recordVersionNumber", attribute_value{true}}},
         "recordVersionNumber is the boolean true, expected a string"},
        {{{"fence", attribute_value{"12"}}},
         "fence is the string \"12\", expected a number from 0 to 18446744073709551615, or no "
         "fence"},
        {{{"fence", attribute_value{number{"18446744073709551616"}}}},
         "fence is the number 18446744073709551616,"},
        {{{"fence", attribute_value{number{"-1"}}}}, "fence is the number -1,"},
        {{{"data", attribute_value{"text"}}},
         "data is the string \"text\", expected binary data, or no data"},
        {{{"isReleased", attribute_value{"0"}}},
         "isReleased is the string \"0\", expected the string \"1\", or no isReleased"},
        {{{"isReleased", attribute_value{attribute_list{}}}}, "isReleased is a list,"},
        {{{"data", attribute_value{string_set{{"a"}}}}}, "data is a string set,"},
    };
    for (const auto& [changes, said] : cases) {
        const lock_record r = parsed(changes);
        ASSERT_TRUE(r.malformed) << said;
        EXPECT_EQ(r.malformed->find(said), 0u) << *r.malformed;
        // The key and what could be read are there; the bad attribute is kept as it was.
        EXPECT_EQ(r.key, lock_key{"k"});
        for (const auto& [name, value] : changes) {
            if (!value.is<null_value>()) {
                EXPECT_EQ(r.other.at(name), value) << name;
            }
        }
    }
}

TEST(LockItem, EveryDeviationOfAnItemIsListed) {
    const lock_record r = parsed({{"ownerName", attribute_value{null_value{}}},
                                  {"leaseDuration", attribute_value{"abc"}},
                                  {"data", attribute_value{"text"}}});
    ASSERT_TRUE(r.malformed);
    EXPECT_EQ(r.malformed->find("ownerName is missing"), 0u) << *r.malformed;
    EXPECT_NE(r.malformed->find("; leaseDuration is the string \"abc\""), std::string::npos);
    EXPECT_NE(r.malformed->find("; data is the string \"text\""), std::string::npos);
    EXPECT_EQ(r.record_version, "r1");  // what could be read, was
}

TEST(LockItem, ValuesInMessagesAreEscapedAndBounded) {
    const lock_record r =
        parsed({{"leaseDuration", attribute_value{"\x1b[31mred\n" + std::string(500, 'x')}}});
    ASSERT_TRUE(r.malformed);
    EXPECT_EQ(r.malformed->find('\x1b'), std::string::npos) << *r.malformed;
    EXPECT_EQ(r.malformed->find('\n'), std::string::npos) << *r.malformed;
    EXPECT_NE(r.malformed->find("\\x1b[31mred\\n"), std::string::npos) << *r.malformed;
    EXPECT_NE(r.malformed->find("...\""), std::string::npos) << *r.malformed;
    EXPECT_LT(r.malformed->size(), 200u) << *r.malformed;
    EXPECT_EQ(lock::describe_lock(lock_key{"a\tb", "c"}), "lock \"a\\tb\" (sort key \"c\")");
}

TEST(LockItem, OnlyAnUnreadableKeyIsAnError) {
    item in = test::foreign_row("k");
    in.insert_or_assign("key", attribute_value{number{"1"}});
    lock_record r;
    std::string why;
    EXPECT_EQ(lock::parse_lock_item(item(in), schema, r, why), errc::malformed_response);
    EXPECT_EQ(why, "lock item key attribute key is the number 1, not a string");
    in.erase("key");
    EXPECT_EQ(lock::parse_lock_item(item(in), schema, r, why), errc::malformed_response);
    EXPECT_EQ(why, "lock item lacks its key attribute key");
}

lock_write grant_of(lock_key key) {
    return {.key = std::move(key), .kind = write_kind::grant, .owner = "me", .new_version = "v"};
}

TEST(LockItem, AGrantNeedsAFenceItCanRaise) {
    const lock_write w = grant_of(lock_key{"k"});
    lock_record current = parsed({{"isReleased", attribute_value{"1"}}});
    EXPECT_TRUE(lock::condition_holds(w, &current));  // no fence: the grant makes it 1
    current.fence = std::numeric_limits<std::uint64_t>::max() - 1;
    EXPECT_TRUE(lock::condition_holds(w, &current));
    current.fence = std::numeric_limits<std::uint64_t>::max();
    EXPECT_FALSE(lock::condition_holds(w, &current));
    // Refreshes and releases do not raise it.
    const lock_write refresh{.key = lock_key{"k"},
                             .kind = write_kind::refresh,
                             .condition = write_condition::version,
                             .expected_version = "r1",
                             .new_version = "v2"};
    EXPECT_TRUE(lock::condition_holds(refresh, &current));
    EXPECT_TRUE(lock::condition_holds(w, nullptr));
}

TEST(LockItem, ALeaseBeyondTheLongestIsRefused) {
    lock_write w = grant_of(lock_key{"k"});
    std::string why;
    w.lease = max_lease;
    EXPECT_FALSE(lock::validate_write(w, why)) << why;
    w.lease = max_lease + milliseconds(1);
    EXPECT_EQ(lock::validate_write(w, why), errc::invalid_argument);
    EXPECT_EQ(why, "a lease is at most 7 days (max_lease)");
}

TEST(RecordVersion, FifteenSymbolsEveryOneDrawnAndNoRepeats) {
    static constexpr std::string_view symbols =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::set<std::string> seen;
    std::array<std::set<char>, lock::record_version_length> at_position{};
    for (int i = 0; i < 10'000; ++i) {  // many refills of the block
        const std::string v = lock::new_record_version();
        ASSERT_EQ(v.size(), lock::record_version_length);
        ASSERT_EQ(v.find_first_not_of(symbols), std::string::npos) << v;
        ASSERT_TRUE(seen.insert(v).second) << "repeated: " << v;
        for (std::size_t p = 0; p < v.size(); ++p) {
            at_position[p].insert(v[p]);
        }
    }
    // 10,000 draws leave no symbol out at any position unless bits are lost
    // (e.g. a position fed by fewer than 6 random bits).
    for (std::size_t p = 0; p < at_position.size(); ++p) {
        EXPECT_EQ(at_position[p].size(), symbols.size()) << "position " << p;
    }
    EXPECT_LE(lock::record_version_length, std::string().capacity())
        << "a version no longer fits inside a std::string";
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
    constexpr auto size = static_cast<ssize_t>(lock::record_version_length);
    std::string theirs(lock::record_version_length, '\0');
    ssize_t got = 0;
    while (got < size) {
        const auto n =
            ::read(pipe_fds[0], theirs.data() + got, static_cast<std::size_t>(size - got));
        if (n <= 0) {
            break;
        }
        got += n;
    }
    ::close(pipe_fds[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ASSERT_EQ(got, size);
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
