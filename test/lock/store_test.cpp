// The two lock stores, one suite: every behaviour the lock layer relies on is
// checked against the memory store and against dynamodb_store on dynalite
// (no ALL_OLD: the failed-condition record comes from a read) and on moto.

#include "lock/lock_item.hpp"
#include "lock/store_fixture.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <set>

using namespace dynalock;
namespace asio = boost::asio;
namespace ddb = dynalock::dynamodb;
using std::chrono::milliseconds;

namespace {

const test::backend memory = test::memory_backend;
const test::backend dynalite = test::dynalite_backend;
const test::backend moto = test::moto_backend;
using test::to_bytes;

constexpr std::uint32_t page_size = 7;

lock_write grant(lock_key key, std::string owner, std::string version) {
    return {.key = std::move(key),
            .kind = write_kind::grant,
            .owner = std::move(owner),
            .new_version = std::move(version),
            .lease = milliseconds(20000)};
}

lock_write takeover(lock_key key, std::string observed, std::string owner, std::string version) {
    lock_write w = grant(std::move(key), std::move(owner), std::move(version));
    w.condition = write_condition::version;
    w.expected_version = std::move(observed);
    return w;
}

lock_write refresh(lock_key key, std::string owner, std::string expected, std::string version) {
    return {.key = std::move(key),
            .kind = write_kind::refresh,
            .condition = write_condition::version_and_owner,
            .expected_version = std::move(expected),
            .owner = std::move(owner),
            .new_version = std::move(version),
            .lease = milliseconds(30000)};
}

lock_write release(lock_key key, std::string owner, std::string expected) {
    return {.key = std::move(key),
            .kind = write_kind::release,
            .condition = write_condition::version_and_owner,
            .expected_version = std::move(expected),
            .owner = std::move(owner)};
}

class store_test : public test::store_fixture {
protected:
    store_test() : store_fixture(page_size) {}

    static store::clock::time_point deadline() {
        return store::clock::now() + std::chrono::seconds(30);
    }

    std::tuple<error_code, write_result> write(lock_write w) {
        return wait<write_result>(
            [&](auto h) { store_->async_write(std::move(w), deadline(), std::move(h)); });
    }

    /// A write that must succeed; the item after it: as the store returned
    /// it, or read back after a refresh, for which a store may return none
    /// (dynamodb_store does not ask for it).
    lock_record written(lock_write w) {
        const bool refresh = w.kind == write_kind::refresh;
        const lock_key key = w.key;
        auto [ec, r] = write(std::move(w));
        EXPECT_FALSE(ec) << ec.message();
        if (refresh && !r.record) {
            auto [read_ec, now] = read(key);
            EXPECT_FALSE(read_ec) << read_ec.message();
            r.record = std::move(now);
        }
        EXPECT_TRUE(r.record.has_value());
        return r.record.value_or(lock_record{});
    }

    std::tuple<error_code, std::optional<lock_record>> read(lock_key key) {
        return wait<std::optional<lock_record>>(
            [&](auto h) { store_->async_read(std::move(key), deadline(), std::move(h)); });
    }

    std::tuple<error_code, record_page> list(std::optional<std::string> partition,
                                             std::optional<lock_key> after) {
        return wait<record_page>([&](auto h) {
            store_->async_list(std::move(partition), std::move(after), deadline(), std::move(h));
        });
    }

    /// Every page of a listing; checks that no page is larger than page_size.
    std::vector<lock_key> list_all(std::optional<std::string> partition) {
        std::vector<lock_key> keys;
        std::optional<lock_key> after;
        for (int pages = 0; pages < 100; ++pages) {
            auto [ec, page] = list(partition, after);
            EXPECT_FALSE(ec) << ec.message();
            EXPECT_LE(page.records.size(), page_size);
            for (const auto& r : page.records) {
                keys.push_back(r.key);
            }
            if (ec || !page.next) {
                return keys;
            }
            after = page.next;
        }
        ADD_FAILURE() << "the listing never ended";
        return keys;
    }
};

/// The suites that need raw access to a DynamoDB table.
class dynamodb_store_test : public store_test {};

const lock_key k1{"lock-1"};

TEST_P(store_test, grant_of_a_missing_item_makes_fence_1) {
    open();
    const lock_record r = written(grant(k1, "alice", "v1"));
    EXPECT_EQ(r.key, k1);
    EXPECT_EQ(r.owner, "alice");
    EXPECT_EQ(r.record_version, "v1");
    EXPECT_EQ(r.lease, milliseconds(20000));
    EXPECT_EQ(r.fence, std::optional<std::uint64_t>(1));
    EXPECT_FALSE(r.released);
    EXPECT_FALSE(r.data.has_value());
    EXPECT_TRUE(r.other.empty());
    auto [ec, got] = read(k1);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_EQ(got, std::optional(r));
    auto [ec2, none] = read(lock_key{"nobody"});
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_FALSE(none.has_value());
}

// A deferred write started as an lvalue (twice) hands over a copy of its
// write each time: the second is the same grant, refused as held, not an
// empty write.
TEST_P(store_test, a_deferred_write_started_as_an_lvalue_sends_its_write_each_time) {
    open();
    const auto op = store_->async_write(grant(k1, "alice", "v1"), deadline());
    auto [ec, r] = wait<write_result>([&](auto h) { op(std::move(h)); });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(r.record.has_value());
    EXPECT_EQ(r.record->owner, "alice");
    auto [again, held] = wait<write_result>([&](auto h) { op(std::move(h)); });
    EXPECT_EQ(again, errc::conditional_check_failed) << again.message();
    ASSERT_TRUE(held.record.has_value());
    EXPECT_EQ(held.record->record_version, "v1");
}

TEST_P(store_test, grant_of_a_held_item_fails_with_the_holders_record) {
    open();
    const lock_record held = written(grant(k1, "alice", "v1"));
    auto [ec, r] = write(grant(k1, "bob", "v2"));
    EXPECT_EQ(ec, errc::conditional_check_failed) << ec.message();
    EXPECT_EQ(r.record, std::optional(held));
}

TEST_P(store_test, release_keeps_the_fence_and_the_next_grant_increments_it) {
    open();
    written(grant(k1, "alice", "v1"));
    const lock_record released = written(release(k1, "alice", "v1"));
    EXPECT_TRUE(released.released);
    EXPECT_EQ(released.fence, std::optional<std::uint64_t>(1));
    EXPECT_EQ(released.owner, "alice");
    auto [ec, got] = read(k1);
    EXPECT_EQ(got, std::optional(released));
    const lock_record again = written(grant(k1, "bob", "v2"));
    EXPECT_EQ(again.fence, std::optional<std::uint64_t>(2));
    EXPECT_FALSE(again.released);
    EXPECT_EQ(again.owner, "bob");
}

TEST_P(store_test, takeover_needs_the_observed_version) {
    open();
    const lock_record held = written(grant(k1, "alice", "v1"));
    auto [ec, r] = write(takeover(k1, "stale", "bob", "v2"));
    EXPECT_EQ(ec, errc::conditional_check_failed);
    EXPECT_EQ(r.record, std::optional(held));
    const lock_record taken = written(takeover(k1, "v1", "bob", "v2"));
    EXPECT_EQ(taken.owner, "bob");
    EXPECT_EQ(taken.record_version, "v2");
    EXPECT_EQ(taken.fence, std::optional<std::uint64_t>(2));

    auto [ec2, r2] = write(takeover(lock_key{"missing"}, "v1", "bob", "v2"));
    EXPECT_EQ(ec2, errc::conditional_check_failed);
    EXPECT_FALSE(r2.record.has_value());
}

TEST_P(store_test, refresh_needs_version_and_owner) {
    open();
    written(grant(k1, "alice", "v1"));
    auto [ec, r] = write(refresh(k1, "bob", "v1", "v2"));
    EXPECT_EQ(ec, errc::conditional_check_failed);
    ASSERT_TRUE(r.record.has_value());
    EXPECT_EQ(r.record->record_version, "v1");
    auto [ec2, r2] = write(refresh(k1, "alice", "v0", "v2"));
    EXPECT_EQ(ec2, errc::conditional_check_failed);
    const lock_record refreshed = written(refresh(k1, "alice", "v1", "v2"));
    EXPECT_EQ(refreshed.record_version, "v2");
    EXPECT_EQ(refreshed.lease, milliseconds(30000));
    EXPECT_EQ(refreshed.fence, std::optional<std::uint64_t>(1));
    EXPECT_EQ(refreshed.owner, "alice");
}

TEST_P(store_test, a_release_on_the_grant_holds_across_heartbeats_and_not_past_a_regrant) {
    open();
    written(grant(k1, "alice", "v1"));
    written(refresh(k1, "alice", "v1", "v2"));
    lock_write forced{.key = k1,
                      .kind = write_kind::release,
                      .condition = write_condition::fence_and_owner,
                      .expected_fence = 1,
                      .owner = "bob"};
    auto [ec, r] = write(forced);
    EXPECT_EQ(ec, errc::conditional_check_failed);
    forced.owner = "alice";
    forced.expected_fence = 2;
    auto [ec2, r2] = write(forced);
    EXPECT_EQ(ec2, errc::conditional_check_failed);
    ASSERT_TRUE(r2.record.has_value());
    EXPECT_EQ(r2.record->record_version, "v2");
    forced.expected_fence = std::nullopt;  // only a row without a fence
    EXPECT_EQ(std::get<0>(write(forced)), errc::conditional_check_failed);

    forced.expected_fence = 1;
    const lock_record released = written(forced);
    EXPECT_TRUE(released.released);
    EXPECT_EQ(released.record_version, "v2");
    EXPECT_EQ(std::get<0>(write(forced)), errc::conditional_check_failed)
        << "a released row is no grant's";
    written(grant(k1, "alice", "v3"));
    EXPECT_EQ(std::get<0>(write(forced)), errc::conditional_check_failed)
        << "the same owner's next grant is another grant";
}

TEST_P(store_test, release_can_delete_the_item) {
    open();
    written(grant(k1, "alice", "v1"));
    lock_write del = release(k1, "bob", "v1");
    del.delete_item = true;
    auto [ec, r] = write(del);
    EXPECT_EQ(ec, errc::conditional_check_failed);
    EXPECT_TRUE(r.record.has_value());
    del.owner = "alice";
    auto [ec2, r2] = write(del);
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_FALSE(r2.record.has_value());
    auto [ec3, got] = read(k1);
    EXPECT_FALSE(got.has_value());
    EXPECT_EQ(written(grant(k1, "bob", "v2")).fence, std::optional<std::uint64_t>(1));
}

TEST_P(store_test, require_existing_never_creates) {
    open();
    lock_write w = grant(k1, "alice", "v1");
    w.require_existing = true;
    auto [ec, r] = write(w);
    EXPECT_EQ(ec, errc::conditional_check_failed);
    EXPECT_FALSE(r.record.has_value());
    auto [ec2, got] = read(k1);
    EXPECT_FALSE(got.has_value());

    written(grant(k1, "bob", "v0"));
    written(release(k1, "bob", "v0"));
    EXPECT_EQ(written(w).fence, std::optional<std::uint64_t>(2));
}

TEST_P(store_test, data_is_kept_replaced_or_removed) {
    open();
    lock_write g = grant(k1, "alice", "v1");
    g.data_action = data_change::replace;
    g.data = to_bytes(std::string("one\0two", 7));
    EXPECT_EQ(written(g).data, std::optional(g.data));
    EXPECT_EQ(written(refresh(k1, "alice", "v1", "v2")).data, std::optional(g.data));
    lock_write r = refresh(k1, "alice", "v2", "v3");
    r.data_action = data_change::replace;
    r.data = to_bytes("three");
    EXPECT_EQ(written(r).data, std::optional(r.data));
    lock_write rel = release(k1, "alice", "v3");
    rel.data_action = data_change::remove;
    const lock_record released = written(rel);
    EXPECT_FALSE(released.data.has_value());
    EXPECT_TRUE(released.released);
}

TEST_P(store_test, extra_attributes_survive_refresh_release_and_grant) {
    open();
    lock_write g = grant(k1, "alice", "v1");
    g.extra = {{"host", attribute_value{"h1"}}, {"weight", attribute_value{number{"5"}}}};
    const attribute_map expected = g.extra;
    EXPECT_EQ(written(g).other, expected);
    EXPECT_EQ(written(refresh(k1, "alice", "v1", "v2")).other, expected);
    EXPECT_EQ(written(release(k1, "alice", "v2")).other, expected);
    EXPECT_EQ(written(grant(k1, "bob", "v3")).other, expected);
    lock_write g2 = takeover(k1, "v3", "carol", "v4");
    g2.extra = {{"host", attribute_value{"h2"}}};
    const lock_record r = written(g2);
    EXPECT_EQ(r.other.at("host"), attribute_value{"h2"});
    EXPECT_EQ(r.other.at("weight"), attribute_value{number{"5"}});
}

TEST_P(store_test, a_grant_under_a_session_records_it_and_a_plain_grant_forgets_it) {
    open();
    const session_ref s{lock_key{"session/x"}, 3};
    lock_write bound = grant(k1, "alice", "v1");
    bound.session = s;
    bound.lease = milliseconds(0);
    const lock_record held = written(bound);
    ASSERT_TRUE(held.session.has_value());
    EXPECT_EQ(*held.session, s);
    EXPECT_EQ(held.lease, milliseconds(0));
    EXPECT_FALSE(held.malformed.has_value());
    auto [ec, got] = read(k1);
    EXPECT_EQ(got, std::optional(held));
    written(release(k1, "alice", "v1"));
    const lock_record plain = written(grant(k1, "bob", "v2"));
    EXPECT_FALSE(plain.session.has_value());
    EXPECT_EQ(plain.lease, milliseconds(20000));
    EXPECT_EQ(plain.fence, std::optional<std::uint64_t>(2));
    EXPECT_TRUE(plain.other.empty());
}

TEST_P(store_test, a_free_grant_naming_an_ended_session_takes_a_lock_held_under_it) {
    open();
    const session_ref dead{lock_key{"session/dead"}, 1};
    const session_ref live{lock_key{"session/live"}, 1};
    for (const auto& [key, s] : {std::pair{lock_key{"a"}, dead}, std::pair{lock_key{"b"}, live}}) {
        lock_write w = grant(key, "old", "v1");
        w.session = s;
        w.lease = milliseconds(0);
        written(w);
    }
    lock_write take = grant(lock_key{"a"}, "new", "v2");
    take.ended_sessions = {dead};
    const lock_record taken = written(take);
    EXPECT_EQ(taken.owner, "new");
    EXPECT_EQ(taken.fence, std::optional<std::uint64_t>(2));
    EXPECT_FALSE(taken.session.has_value());
    // Not a lock held under another session, nor under the same key at
    // another epoch.
    lock_write other = grant(lock_key{"b"}, "new", "v3");
    other.ended_sessions = {dead, session_ref{live.key, 2}};
    auto [ec, r] = write(other);
    EXPECT_EQ(ec, errc::conditional_check_failed) << ec.message();
    ASSERT_TRUE(r.record.has_value());
    EXPECT_EQ(r.record->owner, "old");
}

TEST_P(store_test, a_session_item_is_marked_and_ended_by_a_release_on_its_version) {
    open();
    lock_write item = grant(lock_key{"session/y"}, "alice", "s1");
    item.session_item = true;
    const lock_record opened = written(item);
    EXPECT_TRUE(opened.is_session);
    // A contender ends it: conditioned on the version it saw stand still,
    // whoever owns it.
    const lock_write kill{.key = lock_key{"session/y"},
                          .kind = write_kind::release,
                          .condition = write_condition::version,
                          .expected_version = "s1"};
    const lock_record ended = written(kill);
    EXPECT_TRUE(ended.released);
    EXPECT_TRUE(ended.is_session);
    EXPECT_EQ(ended.fence, std::optional<std::uint64_t>(1));
    // The holder's next heartbeat fails its condition.
    auto [ec, r] = write(refresh(lock_key{"session/y"}, "alice", "s1", "s2"));
    EXPECT_EQ(ec, errc::conditional_check_failed);
}

TEST_P(store_test, invalid_writes_are_refused_before_anything_happens) {
    open();
    std::vector<lock_write> bad;
    bad.push_back(grant(lock_key{""}, "alice", "v1"));
    bad.push_back(grant(lock_key{std::string(2049, 'k')}, "alice", "v1"));
    bad.push_back(grant(k1, "", "v1"));
    bad.push_back(grant(k1, "alice", ""));
    bad.push_back(grant(k1, "alice", "v1"));
    bad.back().extra = {{"fence", attribute_value{number{"9"}}}};
    bad.push_back(refresh(k1, "alice", "", "v2"));
    bad.push_back(release(k1, "alice", "v1"));
    bad.back().condition = write_condition::free;
    bad.push_back(release(k1, "", "v1"));
    bad.back().condition = write_condition::fence_and_owner;
    bad.push_back(release(k1, "alice", "v1"));
    bad.back().delete_item = true;
    bad.back().data_action = data_change::remove;
    for (std::size_t i = 0; i < bad.size(); ++i) {
        auto [ec, r] = write(bad[i]);
        EXPECT_EQ(ec, errc::invalid_argument) << "write " << i << ": " << ec.message();
    }
    auto [ec, got] = read(k1);
    EXPECT_FALSE(got.has_value());
    EXPECT_EQ(std::get<0>(read(lock_key{""})), errc::invalid_argument);
    EXPECT_EQ(std::get<0>(list(std::string(), std::nullopt)), errc::invalid_argument);
}

TEST_P(store_test, a_passed_deadline_is_a_timeout) {
    open();
    auto [ec, r] = wait<write_result>([&](auto h) {
        store_->async_write(grant(k1, "alice", "v1"), store::clock::now() - milliseconds(1),
                            std::move(h));
    });
    EXPECT_EQ(ec, errc::timeout) << ec.message();
    auto [ec2, got] = wait<std::optional<lock_record>>([&](auto h) {
        store_->async_read(k1, store::clock::now() - milliseconds(1), std::move(h));
    });
    EXPECT_EQ(ec2, errc::timeout) << ec2.message();
    auto [ec3, none] = read(k1);
    EXPECT_FALSE(none.has_value()) << "a write past its deadline applied";
}

TEST_P(store_test, sort_key_locks_are_distinct) {
    open("sub");
    const lock_key a{"group", "a"};
    const lock_key b{"group", "b"};
    written(grant(a, "alice", "v1"));
    written(release(a, "alice", "v1"));
    const lock_record ra = written(grant(a, "alice", "v2"));
    const lock_record rb = written(grant(b, "bob", "v1"));
    EXPECT_EQ(ra.fence, std::optional<std::uint64_t>(2));
    EXPECT_EQ(ra.key, a);
    EXPECT_EQ(rb.fence, std::optional<std::uint64_t>(1));
    EXPECT_EQ(rb.key, b);
    auto [ec, r] = write(grant(b, "carol", "v3"));
    EXPECT_EQ(ec, errc::conditional_check_failed);
    EXPECT_EQ(r.record, std::optional(rb));
}

TEST_P(store_test, list_pages_through_everything) {
    open();
    std::set<std::string> expected;
    for (int i = 0; i < 25; ++i) {
        const std::string name = "lock-" + std::to_string(i);
        written(grant(lock_key{name}, "alice", "v1"));
        expected.insert(name);
    }
    const auto keys = list_all(std::nullopt);
    std::set<std::string> got;
    for (const auto& k : keys) {
        got.insert(k.partition);
        EXPECT_FALSE(k.sort.has_value());
    }
    EXPECT_EQ(keys.size(), 25u) << "an item was listed twice or missed";
    EXPECT_EQ(got, expected);
    auto [ec, one] = list(std::string("lock-3"), std::nullopt);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(one.records.size(), 1u);
    EXPECT_EQ(one.records[0].key, lock_key{"lock-3"});
}

TEST_P(store_test, list_by_partition_pages_through_its_sort_keys) {
    open("sub");
    for (int i = 0; i < 25; ++i) {
        written(grant(lock_key{i < 18 ? "shards" : "other", "s" + std::to_string(100 + i)}, "alice",
                      "v1"));
    }
    const auto keys = list_all(std::string("shards"));
    ASSERT_EQ(keys.size(), 18u);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        EXPECT_EQ(keys[i], (lock_key{"shards", "s" + std::to_string(100 + i)}));
    }
    EXPECT_EQ(list_all(std::nullopt).size(), 25u);
    EXPECT_TRUE(list_all(std::string("none")).empty());
}

// --- dynamodb_store only: raw rows, table checks, TTL, options ---------------------

TEST_P(dynamodb_store_test, a_java_client_row_is_read_and_granted) {
    open();
    put_raw(item{{"key", attribute_value{"java-lock"}},
                 {"ownerName", attribute_value{"java-host"}},
                 {"leaseDuration", attribute_value{"10000"}},
                 {"recordVersionNumber", attribute_value{"0a1b-uuid"}},
                 {"isReleased", attribute_value{"1"}},
                 {"data", attribute_value{to_bytes("payload")}}});
    auto [ec, got] = read(lock_key{"java-lock"});
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_TRUE(got.has_value());
    EXPECT_EQ(got->owner, "java-host");
    EXPECT_EQ(got->lease, milliseconds(10000));
    EXPECT_FALSE(got->fence.has_value());
    EXPECT_TRUE(got->released);
    EXPECT_EQ(got->data, std::optional(to_bytes("payload")));
    const lock_record r = written(grant(lock_key{"java-lock"}, "alice", "v1"));
    EXPECT_EQ(r.fence, std::optional<std::uint64_t>(1));
    EXPECT_EQ(r.data, std::optional(to_bytes("payload")));

    // A lease written as N is read too.
    put_raw(item{{"key", attribute_value{"numeric-lease"}},
                 {"ownerName", attribute_value{"x"}},
                 {"leaseDuration", attribute_value{number{"2500"}}},
                 {"recordVersionNumber", attribute_value{"r"}}});
    auto [ec2, n] = read(lock_key{"numeric-lease"});
    ASSERT_FALSE(ec2) << ec2.message();
    EXPECT_EQ(n.value_or(lock_record{}).lease, milliseconds(2500));
    // A held row without a fence is released on its holder alone.
    lock_write forced{.key = lock_key{"numeric-lease"},
                      .kind = write_kind::release,
                      .condition = write_condition::fence_and_owner,
                      .expected_fence = 1,
                      .owner = "x"};
    EXPECT_EQ(std::get<0>(write(forced)), errc::conditional_check_failed);
    forced.expected_fence = std::nullopt;
    EXPECT_TRUE(written(forced).released);
}

using test::foreign_row;

TEST_P(dynamodb_store_test, malformed_rows_are_read_with_what_is_wrong) {
    open();
    // Rows another tool wrote: each read names the attribute, its value and
    // what was expected; a grant on it fails its condition (the row is held)
    // and returns it the same way.
    const std::vector<std::tuple<std::string, item, std::string>> cases{
        {"lease-abc",
         {{"leaseDuration", attribute_value{"abc"}}},
         "leaseDuration is the string \"abc\", expected a whole number of milliseconds"},
        {"lease-huge",
         {{"leaseDuration", attribute_value{"99999999999999999999999"}}},
         "leaseDuration is the string \"99999999999999999999999\""},
        {"lease-negative", {{"leaseDuration", attribute_value{"-5"}}}, "leaseDuration is"},
        {"lease-fraction",
         {{"leaseDuration", attribute_value{number{"1.5"}}}},
         "leaseDuration is the number 1.5"},
        {"no-owner",
         {{"ownerName", attribute_value{null_value{}}}},
         "ownerName is missing, expected a string"},
        {"no-version",
         {{"recordVersionNumber", attribute_value{null_value{}}}},
         "recordVersionNumber is missing"},
        {"fence-string",
         {{"fence", attribute_value{"1"}}},
         "fence is the string \"1\", expected a number from 0 to 18446744073709551615"},
        {"fence-negative", {{"fence", attribute_value{number{"-1"}}}}, "fence is the number -1"},
        {"fence-huge",
         {{"fence", attribute_value{number{"18446744073709551616"}}}},
         "fence is the number 18446744073709551616"},
        {"released-0", {{"isReleased", attribute_value{"0"}}}, "isReleased is the string \"0\""},
        {"data-string", {{"data", attribute_value{"text"}}}, "data is the string \"text\""},
        {"owner-number",
         {{"ownerName", attribute_value{number{"7"}}}},
         "ownerName is the number 7"},
    };
    for (const auto& [name, change, said] : cases) {
        SCOPED_TRACE(name);
        put_raw(foreign_row(name, change));
        auto [ec, got] = read(lock_key{name});
        EXPECT_EQ(ec, errc::malformed_item) << ec.message();
        ASSERT_TRUE(got && got->malformed);
        EXPECT_EQ(got->malformed->find(said), 0u) << *got->malformed;
        EXPECT_EQ(got->key, lock_key{name});
        auto [ec2, r] = write(grant(lock_key{name}, "alice", "v1"));
        EXPECT_EQ(ec2, errc::conditional_check_failed) << ec2.message();
        ASSERT_TRUE(r.record && r.record->malformed);
        EXPECT_EQ(*r.record->malformed, *got->malformed);
    }
}

TEST_P(dynamodb_store_test, session_rows_that_deviate_are_malformed) {
    open();
    const std::vector<std::tuple<std::string, item, std::string>> cases{
        {"session-lease-without-session",
         {{"leaseDuration", attribute_value{"session"}}},
         "leaseDuration is the string \"session\""},
        {"session-without-epoch",
         {{"leaseDuration", attribute_value{"session"}},
          {"sessionKey", attribute_value{"session/z"}}},
         "sessionEpoch is missing"},
        {"session-epoch-string",
         {{"leaseDuration", attribute_value{"session"}},
          {"sessionKey", attribute_value{"session/z"}},
          {"sessionEpoch", attribute_value{"4"}}},
         "sessionEpoch is the string \"4\""},
        {"session-with-milliseconds",
         {{"sessionKey", attribute_value{"session/z"}},
          {"sessionEpoch", attribute_value{number{"4"}}}},
         "sessionKey is the string \"session/z\", expected no session attributes"},
        {"session-marker-0", {{"isSession", attribute_value{"0"}}}, "isSession is the string"},
    };
    for (const auto& [name, change, said] : cases) {
        SCOPED_TRACE(name);
        put_raw(foreign_row(name, change));
        auto [ec, got] = read(lock_key{name});
        EXPECT_EQ(ec, errc::malformed_item) << ec.message();
        ASSERT_TRUE(got && got->malformed);
        EXPECT_NE(got->malformed->find(said), std::string::npos) << *got->malformed;
        EXPECT_FALSE(got->session.has_value());
    }
}

TEST_P(dynamodb_store_test, a_listing_returns_every_row_and_says_which_are_malformed) {
    open();
    put_raw(foreign_row("a-fine"));
    put_raw(foreign_row("b-bad", {{"leaseDuration", attribute_value{"abc"}}}));
    put_raw(foreign_row("c-fine", {{"fence", attribute_value{number{"3"}}}}));
    std::map<std::string, std::optional<std::string>> seen;
    std::optional<lock_key> after;
    do {
        auto [ec, page] = list(std::nullopt, after);
        ASSERT_FALSE(ec) << ec.message();
        for (const auto& r : page.records) {
            seen[r.key.partition] = r.malformed;
        }
        after = page.next;
    } while (after);
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_FALSE(seen["a-fine"]);
    EXPECT_FALSE(seen["c-fine"]);
    ASSERT_TRUE(seen["b-bad"]);
    EXPECT_EQ(seen["b-bad"]->find("leaseDuration is the string \"abc\""), 0u) << *seen["b-bad"];
    // By partition too.
    auto [ec, page] = list(std::string("b-bad"), std::nullopt);
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(page.records.size(), 1u);
    EXPECT_TRUE(page.records[0].malformed);
}

TEST_P(dynamodb_store_test, a_grant_refuses_a_fence_it_cannot_raise_and_writes_nothing) {
    open();
    // A string fence would make the server refuse the update itself, without
    // saying which attribute; the grant's condition refuses it instead.
    put_raw(foreign_row("fence-string",
                        {{"fence", attribute_value{"7"}}, {"isReleased", attribute_value{"1"}}}));
    auto [ec, r] = write(grant(lock_key{"fence-string"}, "alice", "v1"));
    EXPECT_EQ(ec, errc::conditional_check_failed) << ec.message();
    ASSERT_TRUE(r.record && r.record->malformed);
    EXPECT_EQ(r.record->malformed->find("fence is the string \"7\""), 0u) << *r.record->malformed;

    // The largest fence a client can hold: no grant may go past it.
    put_raw(foreign_row("fence-top", {{"fence", attribute_value{number{"18446744073709551615"}}},
                                      {"isReleased", attribute_value{"1"}}}));
    auto [ec2, top] = write(grant(lock_key{"fence-top"}, "alice", "v1"));
    EXPECT_EQ(ec2, errc::conditional_check_failed) << ec2.message();
    ASSERT_TRUE(top.record);
    EXPECT_FALSE(top.record->malformed);
    EXPECT_EQ(top.record->fence, std::optional(std::numeric_limits<std::uint64_t>::max()));
    // Nothing was written: not by the free grant, nor by a takeover on its version.
    auto [ec3, taken] = write(takeover(lock_key{"fence-top"}, "r1", "alice", "v2"));
    EXPECT_EQ(ec3, errc::conditional_check_failed) << ec3.message();
    auto [ec4, after] = read(lock_key{"fence-top"});
    ASSERT_FALSE(ec4) << ec4.message();
    ASSERT_TRUE(after);
    EXPECT_EQ(after->owner, "other-tool");
    EXPECT_EQ(after->record_version, "r1");
    EXPECT_TRUE(after->released);

    // One below is the last fence granted.
    put_raw(foreign_row("fence-last", {{"fence", attribute_value{number{"18446744073709551614"}}},
                                       {"isReleased", attribute_value{"1"}}}));
    const lock_record last = written(grant(lock_key{"fence-last"}, "alice", "v1"));
    EXPECT_EQ(last.fence, std::optional(std::numeric_limits<std::uint64_t>::max()));
}

TEST_P(dynamodb_store_test, a_write_that_applied_on_a_malformed_row_says_so) {
    open();
    // Released, so the grant's condition holds; `data` (not the grant's to
    // set) is a string, so the item it leaves is malformed.
    put_raw(foreign_row("bad-data",
                        {{"data", attribute_value{"text"}}, {"isReleased", attribute_value{"1"}}}));
    auto [ec, r] = write(grant(lock_key{"bad-data"}, "alice", "v1"));
    EXPECT_EQ(ec, errc::malformed_item) << ec.message();
    ASSERT_TRUE(r.record && r.record->malformed);
    EXPECT_EQ(r.record->record_version, "v1");  // it applied
    EXPECT_EQ(r.record->owner, "alice");
    EXPECT_EQ(r.record->fence, std::optional<std::uint64_t>(1));
    // The release by that version applies too, and says the same.
    auto [ec2, released] = write(release(lock_key{"bad-data"}, "alice", "v1"));
    EXPECT_EQ(ec2, errc::malformed_item) << ec2.message();
    ASSERT_TRUE(released.record);
    EXPECT_TRUE(released.record->released);
}

TEST_P(dynamodb_store_test, ttl_attribute_is_set_on_grant_and_refresh) {
    open("", "expires");
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto horizon = dstore_->options().ttl_horizon.count();
    const auto ttl_of = [](const lock_record& r) {
        const number* n = r.other.at("expires").as_number();
        return n ? std::stoll(n->text) : -1;
    };
    const lock_record g = written(grant(k1, "alice", "v1"));
    EXPECT_GE(ttl_of(g), now + 20 + horizon);
    EXPECT_LE(ttl_of(g), now + 20 + horizon + 60);
    const lock_record r = written(refresh(k1, "alice", "v1", "v2"));
    EXPECT_GE(ttl_of(r), now + 30 + horizon);
    lock_write collide = grant(k1, "bob", "v3");
    collide.extra = {{"expires", attribute_value{number{"1"}}}};
    EXPECT_EQ(std::get<0>(write(collide)), errc::invalid_argument);
}

TEST_P(dynamodb_store_test, key_shape_must_match_the_table) {
    open("sub");
    EXPECT_EQ(std::get<0>(write(grant(lock_key{"no-sort"}, "alice", "v1"))),
              errc::invalid_argument);
    EXPECT_EQ(std::get<0>(read(lock_key{"no-sort"})), errc::invalid_argument);
}

TEST_P(dynamodb_store_test, check_table_compares_the_key_schema) {
    open("sub");
    const std::string table = dstore_->options().table_name;
    const auto check = [&](dynamodb_store_options o, diagnostics& d) {
        dynamodb_store s(*client_, std::move(o));
        return wait<>([&](auto h) { s.async_check_table(&d, std::move(h)); });
    };
    diagnostics d;
    EXPECT_FALSE(check({.table_name = table, .sort_key_name = "sub"}, d)) << d.message;
    EXPECT_EQ(check({.table_name = table}, d), errc::invalid_argument);
    EXPECT_NE(d.message.find("sort key"), std::string::npos) << d.message;
    EXPECT_EQ(check({.table_name = table, .partition_key_name = "pk", .sort_key_name = "sub"}, d),
              errc::invalid_argument);
    EXPECT_NE(d.message.find("partition key"), std::string::npos) << d.message;
    EXPECT_EQ(check({.table_name = table, .sort_key_name = "other"}, d), errc::invalid_argument);
    EXPECT_EQ(check({.table_name = table + "-missing"}, d), errc::resource_not_found);

    // Both keys must be strings.
    const std::string numeric = test::unique_table("numeric");
    auto [ec, created] = test::execute(
        io_, *client_,
        ddb::create_table_request{.table_name = numeric,
                                  .partition_key = {"key", ddb::scalar_attribute_type::n}});
    ASSERT_FALSE(ec) << ec.message();
    tables_.push_back(numeric);
    EXPECT_EQ(check({.table_name = numeric}, d), errc::invalid_argument);
    EXPECT_NE(d.message.find("(N)"), std::string::npos) << d.message;

    // Creating an existing table says so.
    EXPECT_EQ(wait<>([&](auto h) { dstore_->async_create_table({}, std::move(h)); }),
              errc::resource_in_use);
}

TEST_P(dynamodb_store_test, create_table_with_ttl) {
    client_.emplace(io_.get_executor(), test::options_for(*GetParam().server));
    dynamodb_store s(*client_,
                     {.table_name = test::unique_table("ttl"), .ttl_attribute_name = "expires"});
    diagnostics d;
    const error_code ec = wait<>([&](auto h) {
        s.async_create_table({.enable_ttl = true, .diagnostics = &d}, std::move(h));
    });
    tables_.push_back(s.options().table_name);
    if (GetParam().server->has_time_to_live) {
        ASSERT_FALSE(ec) << ec.message() << ": " << d.message;
        auto [tec, t] = test::execute(io_, *client_,
                                      ddb::describe_time_to_live_request{s.options().table_name});
        ASSERT_FALSE(tec) << tec.message();
        EXPECT_EQ(t.attribute_name, "expires");
    } else {
        EXPECT_TRUE(ec) << GetParam().name << " accepted UpdateTimeToLive";
        EXPECT_NE(d.message.find("UpdateTimeToLive"), std::string::npos) << d.message;
    }
    dynamodb_store no_ttl(*client_, {.table_name = "t"});
    EXPECT_EQ(
        wait<>([&](auto h) { no_ttl.async_create_table({.enable_ttl = true}, std::move(h)); }),
        errc::invalid_argument);
    diagnostics why;
    EXPECT_EQ(wait<>([&](auto h) {
                  no_ttl.async_create_table(
                      {.timeout = std::chrono::hours(99999999999), .diagnostics = &why},
                      std::move(h));
              }),
              errc::invalid_argument);
    EXPECT_EQ(why.message, "table_creation_options::timeout must be positive and at most 1 hour");
}

TEST_P(dynamodb_store_test, unusable_options_are_rejected_at_construction) {
    client_.emplace(io_.get_executor(), test::options_for(*GetParam().server));
    const std::vector<dynamodb_store_options> bad{
        {},
        {.table_name = "t", .partition_key_name = ""},
        {.table_name = "t", .sort_key_name = "key"},
        {.table_name = "t", .ttl_attribute_name = "key"},
        {.table_name = "t", .sort_key_name = "s", .ttl_attribute_name = "s"},
        {.table_name = "t", .partition_key_name = "fence"},
        {.table_name = "t", .ttl_attribute_name = "leaseDuration"},
        {.table_name = "t", .list_page_size = 0},
        {.table_name = "t", .ttl_horizon = std::chrono::days(366)},
        {.table_name = "t", .ttl_horizon = std::chrono::seconds(-1)},
    };
    for (const auto& o : bad) {
        try {
            dynamodb_store s(*client_, o);
            ADD_FAILURE() << "accepted table '" << o.table_name << "' pk '" << o.partition_key_name
                          << "' sk '" << o.sort_key_name << "' ttl '" << o.ttl_attribute_name
                          << "'";
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(make_error_code(errc::invalid_argument)));
            EXPECT_NE(std::string(e.what()).find("dynamodb_store: "), std::string::npos);
        }
    }
}

INSTANTIATE_TEST_SUITE_P(stores, store_test, ::testing::Values(memory, dynalite, moto),
                         [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(servers, dynamodb_store_test, ::testing::Values(dynalite, moto),
                         [](const auto& info) { return info.param.name; });

}  // namespace
