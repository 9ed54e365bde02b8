#include "aws/sts_protocol.hpp"
#include "fake_sources.hpp"

#include <gtest/gtest.h>

namespace dynalock::aws {
namespace {

const char* const assume_role_answer =
    R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser><AssumedRoleId>AROA:s</AssumedRoleId><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
      <SecretAccessKey>se/cr+et&amp;</SecretAccessKey>
      <SessionToken>FQoGZXIvYXdzE</SessionToken>
      <Expiration>2030-01-01T00:00:00Z</Expiration>
    </Credentials>
  </AssumeRoleResult>
</AssumeRoleResponse>)";

TEST(StsResponse, Credentials) {
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(parse_sts_response(assume_role_answer, 200, out, diag)) << diag.message;
    EXPECT_EQ(out.access_key_id, "ASIAEXAMPLE");
    EXPECT_EQ(out.secret_access_key, "se/cr+et&");
    EXPECT_EQ(out.session_token, "FQoGZXIvYXdzE");
    ASSERT_TRUE(out.expiration.has_value());
}

TEST(StsResponse, Error) {
    credentials out;
    diagnostics diag;
    EXPECT_EQ(
        parse_sts_response(R"(<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code>
      <Message>not authorized to assume &quot;r&quot;</Message></Error></ErrorResponse>)",
                           403, out, diag),
        errc::access_denied);
    EXPECT_EQ(diag.message, "STS: AccessDenied: not authorized to assume \"r\"");
    EXPECT_EQ(diag.aws_type, "AccessDenied");
    EXPECT_EQ(
        parse_sts_response("<Error><Code>InvalidIdentityToken</Code></Error>", 400, out, diag),
        errc::unknown_service_error);
    EXPECT_EQ(parse_sts_response("<html>Bad gateway</html>", 502, out, diag),
              errc::malformed_response);
}

TEST(StsResponse, MalformedCredentials) {
    for (const char* bad : {"", "<Credentials></Credentials>",
                            "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</"
                            "SecretAccessKey><SessionToken>T</SessionToken><Expiration>soon</"
                            "Expiration></Credentials>",
                            "<Credentials><AccessKeyId>A<b/></AccessKeyId></Credentials>"}) {
        credentials out;
        diagnostics diag;
        EXPECT_EQ(parse_sts_response(bad, 200, out, diag), errc::malformed_response) << bad;
    }
}

TEST(FormEncode, EscapesAllButUnreserved) {
    EXPECT_EQ(form_encode({{"Action", "AssumeRole"}, {"RoleArn", "arn:aws:iam::1:role/a b+c"}}),
              "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa%20b%2Bc");
}

std::string endpoint_of(const test::fake_sources& fake, std::string_view region,
                        std::string* signing_region = nullptr) {
    sts_endpoint out;
    diagnostics diag;
    EXPECT_FALSE(resolve_sts_endpoint(fake.sources(), region, out, diag)) << diag.message;
    if (signing_region != nullptr) {
        *signing_region = out.signing_region;
    }
    return (out.url.endpoint.tls ? "https://" : "http://") + host_header(out.url.endpoint) +
           out.url.target;
}

TEST(StsEndpoint, RegionalByDefault) {
    test::fake_sources fake;
    EXPECT_EQ(endpoint_of(fake, "eu-west-1"), "https://sts.eu-west-1.amazonaws.com/");
    EXPECT_EQ(endpoint_of(fake, "cn-north-1"), "https://sts.cn-north-1.amazonaws.com.cn/");
    std::string signing_region;
    EXPECT_EQ(endpoint_of(fake, "", &signing_region), "https://sts.amazonaws.com/");
    EXPECT_EQ(signing_region, "us-east-1");
}

TEST(StsEndpoint, LegacyUsesTheGlobalEndpointForLegacyRegions) {
    test::fake_sources fake;
    fake.env = {{"AWS_STS_REGIONAL_ENDPOINTS", "legacy"}};
    std::string signing_region;
    EXPECT_EQ(endpoint_of(fake, "eu-west-1", &signing_region), "https://sts.amazonaws.com/");
    EXPECT_EQ(signing_region, "us-east-1");
    EXPECT_EQ(endpoint_of(fake, "af-south-1"), "https://sts.af-south-1.amazonaws.com/");
}

TEST(StsEndpoint, Overrides) {
    test::fake_sources fake;
    fake.env = {{"AWS_ENDPOINT_URL", "http://127.0.0.1:1"}};
    EXPECT_EQ(endpoint_of(fake, "eu-west-1"), "http://127.0.0.1:1/");
    fake.env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:2/sts";
    std::string signing_region;
    EXPECT_EQ(endpoint_of(fake, "eu-west-1", &signing_region), "http://127.0.0.1:2/sts");
    EXPECT_EQ(signing_region, "eu-west-1");
}

}  // namespace
}  // namespace dynalock::aws
