#include "aws/clock_skew.hpp"

#include <gtest/gtest.h>

namespace dynalock::aws {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

sys_seconds at(int y, unsigned mo, unsigned d, int h, int mi, int s) {
    return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

TEST(HttpDate, ParsesImfFixdate) {
    EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), at(1994, 11, 6, 8, 49, 37));
    EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), system_clock::time_point{});
    EXPECT_EQ(parse_http_date("Thu, 29 Feb 2024 23:59:59 GMT"), at(2024, 2, 29, 23, 59, 59));
    EXPECT_EQ(parse_http_date("Wed, 31 Dec 2025 12:00:00 GMT"), at(2025, 12, 31, 12, 0, 0));
    // A leap second is accepted and lands on the next second.
    EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"), at(2017, 1, 1, 0, 0, 0));
}

TEST(HttpDate, AllMonths) {
    const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (unsigned m = 1; m <= 12; ++m) {
        std::string text = std::string("Mon, 01 ") + months[m - 1] + " 2024 00:00:00 GMT";
        EXPECT_EQ(parse_http_date(text), at(2024, m, 1, 0, 0, 0)) << text;
    }
}

class HttpDateMalformed : public testing::TestWithParam<const char*> {};

TEST_P(HttpDateMalformed, IsRejected) {
    EXPECT_EQ(parse_http_date(GetParam()), std::nullopt);
}

INSTANTIATE_TEST_SUITE_P(
    Values, HttpDateMalformed,
    testing::Values("", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 GMT ",
                    " Sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 UTC",
                    "Sun, 06 Nov 1994 08:49:37 gmt", "Sunday, 06-Nov-94 08:49:37 GMT",
                    "Sun Nov  6 08:49:37 1994", "Xyz, 06 Nov 1994 08:49:37 GMT",
                    "sun, 06 Nov 1994 08:49:37 GMT", "Sun, 06 nov 1994 08:49:37 GMT",
                    "Sun, 06 Foo 1994 08:49:37 GMT", "Sun,  6 Nov 1994 08:49:37 GMT",
                    "Sun, 6  Nov 1994 08:49:37 GMT", "Sun, 00 Nov 1994 08:49:37 GMT",
                    "Sun, 31 Nov 1994 08:49:37 GMT", "Thu, 29 Feb 2023 08:49:37 GMT",
                    "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:60:00 GMT",
                    "Sun, 06 Nov 1994 08:49:61 GMT", "Sun, 06 Nov 1994 08-49-37 GMT",
                    "Sun; 06 Nov 1994 08:49:37 GMT", "Sun, +6 Nov 1994 08:49:37 GMT",
                    "Sun, 06 Nov 19x4 08:49:37 GMT", "Sun, 06 Nov 1994 0a:49:37 GMT",
                    "Sun, 06 Nov 9999 08:49:37 GMT", "Sun, 06 Nov 0000 08:49:37 GMT",
                    "Sun, 06 Nov 1899 08:49:37 GMT"));

TEST(HttpDate, EmbeddedNulIsRejected) {
    std::string text = "Sun, 06 Nov 1994 08:49:37 GMT";
    text[10] = '\0';
    EXPECT_EQ(parse_http_date(text), std::nullopt);
}

TEST(ClockSkewError, Classification) {
    EXPECT_TRUE(is_clock_skew_error("RequestTimeTooSkewed", ""));
    EXPECT_TRUE(is_clock_skew_error("RequestExpired", "anything"));
    EXPECT_TRUE(is_clock_skew_error("RequestInTheFuture", ""));
    EXPECT_TRUE(is_clock_skew_error(
        "InvalidSignatureException",
        "Signature expired: 20130524T000000Z is now earlier than 20130524T001000Z "
        "(20130524T001500Z - 15 min.)"));
    EXPECT_TRUE(is_clock_skew_error("InvalidSignatureException",
                                    "Signature not yet current: 20300101T000000Z is still later "
                                    "than 20250101T001500Z (20250101T000000Z + 15 min.)"));
    EXPECT_TRUE(is_clock_skew_error("SignatureDoesNotMatch", "Signature expired: ..."));
    EXPECT_TRUE(is_clock_skew_error("AuthFailure", "Signature expired: ..."));

    // A wrong secret key is not a clock problem.
    EXPECT_FALSE(is_clock_skew_error(
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided."));
    EXPECT_FALSE(is_clock_skew_error("SignatureDoesNotMatch", ""));
    EXPECT_FALSE(is_clock_skew_error("ThrottlingException", "Signature expired"));
    EXPECT_FALSE(is_clock_skew_error("", ""));
    EXPECT_FALSE(is_clock_skew_error("requesttimetooskewed", ""));
}

TEST(ClockSkew, StartsWithoutCorrection) {
    clock_skew skew;
    auto now = system_clock::now();
    EXPECT_EQ(skew.offset(), 0ms);
    EXPECT_EQ(skew.corrected_now(now), now);
}

TEST(ClockSkew, LearnsTheOffsetFromTheDateHeader) {
    clock_skew skew;
    system_clock::time_point local = at(2025, 1, 1, 12, 0, 0) + 250ms;
    // The server is 20 minutes ahead.
    ASSERT_TRUE(skew.on_clock_skew_error("Wed, 01 Jan 2025 12:20:00 GMT", local));
    EXPECT_EQ(skew.offset(), 20min - 250ms);
    EXPECT_EQ(skew.corrected_now(local), at(2025, 1, 1, 12, 20, 0));
    EXPECT_EQ(skew.corrected_now(local + 5s), at(2025, 1, 1, 12, 20, 5));

    // Later the server is behind: the offset is replaced, not accumulated.
    ASSERT_TRUE(skew.on_clock_skew_error("Wed, 01 Jan 2025 11:50:00 GMT", local));
    EXPECT_EQ(skew.offset(), -10min - 250ms);
    EXPECT_EQ(skew.corrected_now(local), at(2025, 1, 1, 11, 50, 0));
}

TEST(ClockSkew, MalformedOrMissingDateKeepsTheOffset) {
    clock_skew skew;
    system_clock::time_point local = at(2025, 1, 1, 12, 0, 0);
    ASSERT_TRUE(skew.on_clock_skew_error("Wed, 01 Jan 2025 12:01:00 GMT", local));
    EXPECT_FALSE(skew.on_clock_skew_error("", local));
    EXPECT_FALSE(skew.on_clock_skew_error("yesterday", local));
    EXPECT_EQ(skew.offset(), 1min);
}

}  // namespace
}  // namespace dynalock::aws
