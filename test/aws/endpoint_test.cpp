#include "aws/endpoint.hpp"

#include <gtest/gtest.h>

namespace dynalock::aws {
namespace {

struct good_case {
    const char* url;
    endpoint expected;
};

class EndpointGood : public testing::TestWithParam<good_case> {};

TEST_P(EndpointGood, Parses) {
    endpoint ep;
    diagnostics diag;
    ASSERT_FALSE(parse_endpoint(GetParam().url, ep, diag)) << diag.message;
    EXPECT_EQ(ep, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Urls, EndpointGood,
    testing::Values(good_case{"https://dynamodb.us-east-1.amazonaws.com",
                              {true, "dynamodb.us-east-1.amazonaws.com", 443}},
                    good_case{"https://dynamodb.us-east-1.amazonaws.com/",
                              {true, "dynamodb.us-east-1.amazonaws.com", 443}},
                    good_case{"http://localhost", {false, "localhost", 80}},
                    good_case{"http://localhost:8000", {false, "localhost", 8000}},
                    good_case{"http://127.0.0.1:8000/", {false, "127.0.0.1", 8000}},
                    good_case{"HTTPS://Example.COM:1", {true, "Example.COM", 1}},
                    good_case{"https://h:65535", {true, "h", 65535}},
                    good_case{"http://h:00080", {false, "h", 80}},
                    good_case{"http://[::1]:8000", {false, "::1", 8000}},
                    good_case{"https://[2001:db8::1]", {true, "2001:db8::1", 443}},
                    good_case{"http://[::ffff:127.0.0.1]/", {false, "::ffff:127.0.0.1", 80}},
                    good_case{"http://my_host-1.local", {false, "my_host-1.local", 80}}));

struct bad_case {
    const char* url;
    const char* problem;
};

class EndpointBad : public testing::TestWithParam<bad_case> {};

TEST_P(EndpointBad, IsRejectedWithReason) {
    endpoint ep{true, "unchanged", 1};
    diagnostics diag;
    EXPECT_EQ(parse_endpoint(GetParam().url, ep, diag), errc::invalid_endpoint);
    EXPECT_EQ(diag.message, std::string("invalid endpoint URL: ") + GetParam().problem);
    EXPECT_EQ(ep, (endpoint{true, "unchanged", 1}));
}

constexpr const char* bad_port = "the port must be a number from 1 to 65535";
constexpr const char* bad_scheme = "the scheme must be http:// or https://";
constexpr const char* has_path =
    "a path, query or fragment is not allowed (DynamoDB is served at /)";

INSTANTIATE_TEST_SUITE_P(
    Urls, EndpointBad,
    testing::Values(bad_case{"", bad_scheme}, bad_case{"localhost:8000", bad_scheme},
                    bad_case{"ftp://h", bad_scheme}, bad_case{"https:/h", bad_scheme},
                    bad_case{" https://h", bad_scheme}, bad_case{"https://", "the host is empty"},
                    bad_case{"https:///", "the host is empty"},
                    bad_case{"http://:80", "the host is empty"},
                    bad_case{"http://[]:80", "the bracketed host is not an IPv6 address"},
                    bad_case{"http://[127.0.0.1]", "the bracketed host is not an IPv6 address"},
                    bad_case{"http://[::1", "the IPv6 address is missing its closing ']'"},
                    bad_case{"http://[::1]x", "unexpected text after the IPv6 address"},
                    bad_case{"http://[fe80::1%eth0]",
                             "the IPv6 address contains an invalid character"},
                    bad_case{"http://user:pw@h", "user information (user@host) is not allowed"},
                    bad_case{"http://h:", bad_port}, bad_case{"http://h:0", bad_port},
                    bad_case{"http://h:65536", bad_port}, bad_case{"http://h:123456", bad_port},
                    bad_case{"http://h:-1", bad_port}, bad_case{"http://h:8o", bad_port},
                    bad_case{"http://h:80:80", bad_port}, bad_case{"http://h/path", has_path},
                    bad_case{"http://h//", has_path}, bad_case{"http://h?x=1", has_path},
                    bad_case{"http://h#f", has_path}, bad_case{"http://h/?", has_path},
                    bad_case{"http://h h", "the host contains an invalid character"},
                    bad_case{"http://h\r\nX: y", "the host contains an invalid character"},
                    bad_case{"http://h ", "the host contains an invalid character"}));

TEST(Endpoint, RejectionDoesNotEchoTheUrl) {
    endpoint ep;
    diagnostics diag;
    EXPECT_EQ(parse_endpoint("http://admin:hunter2@h", ep, diag), errc::invalid_endpoint);
    EXPECT_EQ(diag.message.find("hunter2"), std::string::npos) << diag.message;
}

TEST(Endpoint, HostHeaderOmitsDefaultPortAndBracketsIpv6) {
    EXPECT_EQ(host_header({true, "dynamodb.us-east-1.amazonaws.com", 443}),
              "dynamodb.us-east-1.amazonaws.com");
    EXPECT_EQ(host_header({false, "localhost", 80}), "localhost");
    EXPECT_EQ(host_header({false, "localhost", 8000}), "localhost:8000");
    EXPECT_EQ(host_header({true, "h", 80}), "h:80");
    EXPECT_EQ(host_header({false, "h", 443}), "h:443");
    EXPECT_EQ(host_header({false, "::1", 8000}), "[::1]:8000");
    EXPECT_EQ(host_header({true, "::1", 443}), "[::1]");
}

}  // namespace
}  // namespace dynalock::aws
