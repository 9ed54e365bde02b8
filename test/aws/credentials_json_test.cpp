#include "aws/credentials_json.hpp"

#include <gtest/gtest.h>

namespace dynalock::aws {
namespace {

using namespace std::chrono;
using namespace std::chrono_literals;

system_clock::time_point at(int y, unsigned m, unsigned d, int hh, int mm, int ss) {
    return sys_days{year{y} / month{m} / day{d}} + hours{hh} + minutes{mm} + seconds{ss};
}

const system_clock::time_point before_2030 = at(2029, 1, 1, 0, 0, 0);

TEST(Iso8601, AcceptsTheFormsAwsWrites) {
    system_clock::time_point t;
    ASSERT_TRUE(parse_iso8601("2030-02-03T04:05:06Z", t));
    EXPECT_EQ(t, at(2030, 2, 3, 4, 5, 6));
    ASSERT_TRUE(parse_iso8601("2030-02-03T04:05:06.250Z", t));
    EXPECT_EQ(t, at(2030, 2, 3, 4, 5, 6) + 250ms);
    ASSERT_TRUE(parse_iso8601("2030-02-03T04:05:06+01:30", t));
    EXPECT_EQ(t, at(2030, 2, 3, 2, 35, 6));
    ASSERT_TRUE(parse_iso8601("2030-02-03T04:05:06-02:00", t));
    EXPECT_EQ(t, at(2030, 2, 3, 6, 5, 6));
}

TEST(Iso8601, RejectsEverythingElse) {
    system_clock::time_point t;
    for (const char* bad :
         {"", "2030-02-03", "2030-02-03T04:05:06", "2030-02-30T04:05:06Z", "2030-13-03T04:05:06Z",
          "2030-02-03T24:05:06Z", "2030-02-03 04:05:06Z", "2030-02-03T04:05:06.Z",
          "2030-02-03T04:05:06+0100", "2030-02-03T04:05:06Zjunk", "203x-02-03T04:05:06Z"}) {
        EXPECT_FALSE(parse_iso8601(bad, t)) << bad;
    }
}

error_code parse(std::string_view body, credentials_json_dialect dialect, credentials& out,
                 diagnostics& diag) {
    return parse_credentials_json(body, dialect, "test", before_2030, out, diag);
}

TEST(CredentialsJson, CredentialProcessVersion1) {
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(parse(R"({"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK",)"
                       R"("SessionToken":"ST","Expiration":"2030-01-01T00:00:00Z"})",
                       credentials_json_dialect::credential_process, out, diag))
        << diag.message;
    EXPECT_EQ(out.access_key_id, "AK");
    EXPECT_EQ(out.secret_access_key, "SK");
    EXPECT_EQ(out.session_token, "ST");
    EXPECT_EQ(out.expiration, at(2030, 1, 1, 0, 0, 0));
}

TEST(CredentialsJson, CredentialProcessLongTermKeysNeedNoTokenNorExpiration) {
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(parse(R"({"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK"})",
                       credentials_json_dialect::credential_process, out, diag));
    EXPECT_EQ(out.session_token, "");
    EXPECT_EQ(out.expiration, std::nullopt);
}

TEST(CredentialsJson, MetadataServiceDocument) {
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(
        parse(R"({"Code":"Success","LastUpdated":"2029-01-01T00:00:00Z","Type":"AWS-HMAC",)"
              R"("AccessKeyId":"AK","SecretAccessKey":"SK","Token":"T",)"
              R"("Expiration":"2030-01-01T00:00:00Z"})",
              credentials_json_dialect::metadata_service, out, diag))
        << diag.message;
    EXPECT_EQ(out.session_token, "T");
}

struct bad_document {
    const char* body;
    credentials_json_dialect dialect;
    errc expected;
    const char* message;
};

TEST(CredentialsJson, EachProblemHasItsMessage) {
    constexpr auto process = credentials_json_dialect::credential_process;
    constexpr auto metadata = credentials_json_dialect::metadata_service;
    const bad_document cases[] = {
        {"not json", process, errc::malformed_response, "test: the output is not a JSON object"},
        {"[1]", process, errc::malformed_response, "test: the output is not a JSON object"},
        {R"({"AccessKeyId":"AK","SecretAccessKey":"SK"})", process, errc::malformed_response,
         "test: Version is not 1 (the only version supported)"},
        {R"({"Version":2,"AccessKeyId":"AK","SecretAccessKey":"SK"})", process,
         errc::malformed_response, "test: Version is not 1 (the only version supported)"},
        {R"({"Version":1,"SecretAccessKey":"SK"})", process, errc::malformed_response,
         "test: no AccessKeyId"},
        {R"({"Version":1,"AccessKeyId":"AK","SecretAccessKey":7})", process,
         errc::malformed_response, "test: SecretAccessKey is not a non-empty string"},
        {R"({"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","Expiration":"soon"})", process,
         errc::malformed_response, "test: Expiration is not an ISO 8601 time"},
        {R"({"Version":1,"AccessKeyId":"AK","SecretAccessKey":"SK","Expiration":"2020-01-01T00:00:00Z"})",
         process, errc::credentials_expired,
         "test: the credentials expired at 2020-01-01T00:00:00Z"},
        {R"({"Code":"Failure","AccessKeyId":"AK","SecretAccessKey":"SK"})", metadata,
         errc::malformed_response, "test: Code is not \"Success\""},
        {R"({"AccessKeyId":"AK","SecretAccessKey":"SK","Expiration":"2030-01-01T00:00:00Z"})",
         metadata, errc::malformed_response, "test: no Token"},
        {R"({"AccessKeyId":"AK","SecretAccessKey":"SK","Token":"T"})", metadata,
         errc::malformed_response, "test: no Expiration"},
    };
    for (const bad_document& c : cases) {
        credentials out{.access_key_id = "untouched"};
        diagnostics diag;
        EXPECT_EQ(parse(c.body, c.dialect, out, diag), c.expected) << c.body;
        EXPECT_EQ(diag.message, c.message) << c.body;
        EXPECT_EQ(out.access_key_id, "untouched") << c.body;
    }
}

}  // namespace
}  // namespace dynalock::aws
