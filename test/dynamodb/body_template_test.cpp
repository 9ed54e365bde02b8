// body_template: a body split at its markers and filled in again is the body
// that would have been written with the values in their place, whatever the
// values hold; a marker that is not there exactly once makes no template.

#include "dynamodb/body_template.hpp"

#include "dynamodb/json_writer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>
#include <vector>

namespace dynalock::dynamodb {
namespace {

// {"a":<v0>,"b":[<v1>,"c"],"d":{"e":<v2>}} written by json_writer.
std::string write(std::string_view v0, std::string_view v1, std::string_view v2) {
    std::string out;
    json_writer w(out);
    w.begin_object();
    w.key("a");
    w.string(v0);
    w.key("b");
    w.begin_array();
    w.string(v1);
    w.string("c");
    w.end_array();
    w.key("d");
    w.begin_object();
    w.key("e");
    w.string(v2);
    w.end_object();
    w.end_object();
    return out;
}

TEST(DynamodbBodyTemplate, FillsInWhatWouldHaveBeenWritten) {
    // The markers given out of their order in the body.
    const std::array<std::string_view, 3> markers = {"m2", "m0", "m1"};
    const auto t = body_template::split(write("m0", "m1", "m2"), markers);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(t->size(), 3U);
    const std::vector<std::array<std::string_view, 3>> cases = {
        {"x", "y", "z"},
        {"", "", ""},
        {"quote\"back\\slash", "\n\t\x01\x1f", "\xc3\xa9t\xc3\xa9"},
        {"m0", "m1", "m2"},
        {"a long value that takes more than one word of the scan", "\"", "\\"},
    };
    std::string body = "stale";
    for (const auto& [v0, v1, v2] : cases) {
        const std::array<std::string_view, 3> values = {v2, v0, v1};
        t->fill(values, body);
        EXPECT_EQ(body, write(v0, v1, v2));
    }
}

TEST(DynamodbBodyTemplate, NoMarkersIsTheBodyAsItIs) {
    const std::string body = write("p", "q", "r");
    const auto t = body_template::split(body, {});
    ASSERT_TRUE(t.has_value());
    std::string out;
    t->fill({}, out);
    EXPECT_EQ(out, body);
}

TEST(DynamodbBodyTemplate, RefusesAMarkerNotThereExactlyOnce) {
    const std::array<std::string_view, 2> markers = {"m0", "m1"};
    // Absent.
    EXPECT_FALSE(body_template::split(write("m0", "x", "y"), markers).has_value());
    // Twice (say, a name holding it).
    EXPECT_FALSE(body_template::split(write("m0", "m1", "m1"), markers).has_value());
    // Only within another string is not the marker as a string.
    EXPECT_FALSE(body_template::split(write("m0", "m1 and more", "y"), markers).has_value());
}

TEST(DynamodbBodyTemplate, RefusesMarkersThatOverlap) {
    // In ["a","b"] the marker `,` is found as `","`, whose first quote closes
    // the string "a": both are there once, sharing a byte.
    std::string body;
    json_writer w(body);
    w.begin_array();
    w.string("a");
    w.string("b");
    w.end_array();
    const std::array<std::string_view, 1> comma = {","};
    EXPECT_TRUE(body_template::split(body, comma).has_value());
    const std::array<std::string_view, 2> markers = {"a", ","};
    EXPECT_FALSE(body_template::split(body, markers).has_value());
}

}  // namespace
}  // namespace dynalock::dynamodb
