// write_encoder: a heartbeat filled into the template is, byte for byte, the
// body encoded in full, for every table shape and whatever its strings hold;
// what the client refuses is refused with the same reason; a table whose
// names hold a marker has no template and still writes.

#include "lock/write_encoder.hpp"

#include "lock/lock_item.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

using namespace dynalock;
using std::chrono::milliseconds;

namespace {

std::vector<dynamodb_store_options> tables() {
    std::vector<dynamodb_store_options> t;
    t.push_back({.table_name = "locks"});
    t.push_back({.table_name = "locks", .sort_key_name = "sub"});
    t.push_back({.table_name = "locks", .ttl_attribute_name = "expires"});
    t.push_back({.table_name = "locks.v2-a_b",
                 .partition_key_name = "k\"e\\y \xc3\xa9",
                 .sort_key_name = "s\tort",
                 .ttl_attribute_name = "t\x01tl"});
    return t;
}

lock_write heartbeat(const dynamodb_store_options& o, std::string partition, std::string sort,
                     std::string owner, std::string expected, std::string next,
                     milliseconds lease) {
    lock_write w{.key = {std::move(partition)},
                 .kind = write_kind::refresh,
                 .condition = write_condition::version_and_owner,
                 .expected_version = std::move(expected),
                 .owner = std::move(owner),
                 .new_version = std::move(next),
                 .lease = lease};
    if (!o.sort_key_name.empty()) {
        w.key.sort = std::move(sort);
    }
    return w;
}

std::vector<lock_write> heartbeats(const dynamodb_store_options& o) {
    const std::string quote_and_controls = "a\"b\\c\n\r\t\x01\x1f/\x7f";
    return {
        heartbeat(o, "job", "0", "worker-1", "v1", "v2", milliseconds(10'000)),
        heartbeat(o, quote_and_controls, quote_and_controls, quote_and_controls, quote_and_controls,
                  quote_and_controls, milliseconds(0)),
        heartbeat(o, "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x94\x92", "h\xc3\xb4te", "\xc3\xa9",
                  "\xe2\x82\xac", max_lease),
        heartbeat(o, std::string(lock::max_partition_key_bytes, 'p'),
                  std::string(lock::max_sort_key_bytes, '"'), std::string(3000, 'o'),
                  std::string(100, '\\'), std::string(1, '\0'), milliseconds(1)),
        // The markers' own digits as values.
        heartbeat(o, "9007199254740001", "9007199254740002", "9007199254740004", "9007199254740003",
                  "9007199254740005", milliseconds(123)),
    };
}

const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'765'000'000));

struct outcome {
    error_code ec;
    std::string message;
    std::string body;
};

outcome encode(const lock::write_encoder& e, lock_write w) {
    outcome r;
    diagnostics diag;
    r.ec = e.encode(w, now, r.body, diag);
    r.message = diag.message;
    return r;
}

outcome encode_in_full(const lock::write_encoder& e, lock_write w) {
    outcome r;
    diagnostics diag;
    r.ec = e.encode_in_full(w, now, r.body, diag);
    r.message = diag.message;
    return r;
}

bool filled(const lock::write_encoder& e, const lock_write& w) {
    std::string body;
    return e.fill_template(w, now, body);
}

void expect_same(const outcome& a, const outcome& b) {
    EXPECT_EQ(a.ec, b.ec);
    EXPECT_EQ(a.message, b.message);
    EXPECT_EQ(a.body, b.body);
}

// Every heartbeat of `heartbeats(o)` encodes without error to the body
// encoded in full, from the template or not as `from_template` says.
void expect_heartbeats_encoded(const lock::write_encoder& e, const dynamodb_store_options& o,
                               bool from_template) {
    for (const auto& w : heartbeats(o)) {
        EXPECT_EQ(filled(e, w), from_template);
        const outcome got = encode(e, w);
        EXPECT_FALSE(got.ec) << got.message;
        expect_same(got, encode_in_full(e, w));
    }
}

TEST(LockWriteEncoder, AHeartbeatFromTheTemplateIsTheBodyEncodedInFull) {
    for (const auto& o : tables()) {
        SCOPED_TRACE(o.partition_key_name + " " + o.sort_key_name + " " + o.ttl_attribute_name);
        const lock::write_encoder e(o);
        ASSERT_TRUE(e.has_template());
        expect_heartbeats_encoded(e, o, true);
    }
}

TEST(LockWriteEncoder, TheTemplateBodyAsksForNoItem) {
    const dynamodb_store_options o{.table_name = "locks"};
    const lock::write_encoder e(o);
    const lock_write w = heartbeats(o).front();
    const std::string body = encode(e, w).body;
    EXPECT_EQ(body.find("\"ReturnValues\":"), std::string::npos) << body;
    EXPECT_NE(body.find("\"ReturnValuesOnConditionCheckFailure\":\"ALL_OLD\""), std::string::npos);
    EXPECT_FALSE(lock::write_encoder::returns_item(w));
    EXPECT_EQ(lock::write_encoder::target(w), "DynamoDB_20120810.UpdateItem");
    lock_write release = w;
    release.kind = write_kind::release;
    release.delete_item = true;
    EXPECT_EQ(lock::write_encoder::target(release), "DynamoDB_20120810.DeleteItem");
    EXPECT_FALSE(lock::write_encoder::returns_item(release));
    release.delete_item = false;
    EXPECT_TRUE(lock::write_encoder::returns_item(release));
}

TEST(LockWriteEncoder, WhatTheClientRefusesIsRefusedWithTheSameReason) {
    for (const auto& o : tables()) {
        const lock::write_encoder e(o);
        const std::string bad = "ok\xc3(";  // a truncated sequence
        for (int field = 0; field < 5; ++field) {
            lock_write w = heartbeats(o).front();
            std::string& s = field == 0   ? w.key.partition
                             : field == 1 ? (w.key.sort ? *w.key.sort : w.key.partition)
                             : field == 2 ? w.owner
                             : field == 3 ? w.expected_version
                                          : w.new_version;
            s = bad;
            const outcome got = encode(e, w);
            EXPECT_FALSE(filled(e, w)) << field;
            EXPECT_EQ(got.ec, errc::invalid_argument) << field;
            EXPECT_NE(got.message.find("UTF-8"), std::string::npos) << got.message;
            expect_same(got, encode_in_full(e, w));
        }
    }
}

TEST(LockWriteEncoder, OtherWritesAreEncodedInFull) {
    const dynamodb_store_options o{.table_name = "locks", .ttl_attribute_name = "expires"};
    const lock::write_encoder e(o);
    const lock_write hb = heartbeats(o).front();
    std::vector<lock_write> writes;
    writes.push_back(hb);
    writes.back().data_action = data_change::replace;
    writes.back().data = bytes{std::byte{1}, std::byte{2}};
    writes.push_back(hb);
    writes.back().data_action = data_change::remove;
    writes.push_back(hb);
    writes.back().require_existing = true;
    writes.push_back(hb);
    writes.back().kind = write_kind::grant;
    writes.back().condition = write_condition::free;
    writes.push_back(hb);
    writes.back().kind = write_kind::release;
    writes.back().delete_item = true;
    for (const auto& w : writes) {
        EXPECT_FALSE(filled(e, w));
        const outcome got = encode(e, w);
        EXPECT_FALSE(got.ec) << got.message;
        expect_same(got, encode_in_full(e, w));
        EXPECT_NE(got.body, encode(e, hb).body);
    }
}

TEST(LockWriteEncoder, ANameHoldingAMarkerLeavesNoTemplateAndStillWrites) {
    // One of the template's markers as each of the table's names in turn.
    const std::string marker = "9007199254740003";
    const dynamodb_store_options base{
        .table_name = "locks", .sort_key_name = "sub", .ttl_attribute_name = "expires"};
    std::vector<dynamodb_store_options> tables(4, base);
    tables[0].table_name = marker;
    tables[1].partition_key_name = marker;
    tables[2].sort_key_name = marker;
    tables[3].ttl_attribute_name = marker;
    for (const auto& o : tables) {
        const lock::write_encoder e(o);
        EXPECT_FALSE(e.has_template());
        expect_heartbeats_encoded(e, o, false);
    }
}

TEST(LockWriteEncoder, ATableTheClientRefusesHasNoTemplate) {
    const dynamodb_store_options o{.table_name = "x"};  // shorter than 3 characters
    const lock::write_encoder e(o);
    EXPECT_FALSE(e.has_template());
    const outcome got = encode(e, heartbeats(o).front());
    EXPECT_EQ(got.ec, errc::invalid_argument);
    EXPECT_FALSE(got.message.empty());
}

}  // namespace
