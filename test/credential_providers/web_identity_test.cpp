#include "aws/fake_sources.hpp"
#include "coroutine_test_support.hpp"
#include "credential_providers/credential_chain.hpp"
#include "credential_providers/sts.hpp"
#include "support/scripted_http_server.hpp"

#include <gtest/gtest.h>

namespace dynalock::aws {
namespace {

// moto answers an unsigned AssumeRoleWithWebIdentity (as every SDK sends it)
// with HTTP 500 when it checks signatures, so this plays STS locally.
TEST(WebIdentity, UnsignedFormPostWithTheTokenFromTheFile) {
    boost::asio::io_context ctx;
    std::string received_body;
    bool signed_request = true;
    test::scripted_http_server sts(
        ctx, test::answer_each([&](const test::wire_request& req) {
            received_body = req.body();
            signed_request = !req[boost::beast::http::field::authorization].empty();
            return test::scripted_reply{
                .status = 200,
                .body =
                    "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                    "<Credentials><AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>S"
                    "</SecretAccessKey><SessionToken>T</SessionToken><Expiration>"
                    "2200-01-01T00:00:00Z</Expiration></Credentials>"
                    "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"};
        }));
    test::fake_sources fake;
    fake.env = {{"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"},
                {"AWS_ROLE_ARN", "arn:aws:iam::1:role/pod"},
                {"AWS_ROLE_SESSION_NAME", "pod-1"},
                {"AWS_ENDPOINT_URL_STS", sts.url()}};
    fake.files = {{"/var/run/token", "eyJ.payload.sig\n"}};
    std::unique_ptr<async_credentials_provider> provider;
    diagnostics diag;
    ASSERT_FALSE(web_identity_provider::from_environment(ctx.get_executor(), fake.sources(),
                                                         "eu-west-1", provider, diag))
        << diag.message;
    credentials out;
    ASSERT_FALSE(test::fetch_credentials(ctx, *provider, out, diag)) << diag.message;
    EXPECT_EQ(out.access_key_id, "ASIAWEB");
    EXPECT_FALSE(signed_request);
    EXPECT_EQ(received_body,
              "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%"
              "3Arole%2Fpod&RoleSessionName=pod-1&WebIdentityToken=eyJ.payload.sig");
}

TEST(WebIdentity, TokenFileAndRoleOfAProfile) {
    boost::asio::io_context ctx;
    std::string received_body;
    test::scripted_http_server sts(
        ctx, test::answer_each([&](const test::wire_request& req) {
            received_body = req.body();
            return test::scripted_reply{
                .status = 200,
                .body =
                    "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult>"
                    "<Credentials><AccessKeyId>ASIAPROFILE</AccessKeyId><SecretAccessKey>S"
                    "</SecretAccessKey><SessionToken>T</SessionToken><Expiration>"
                    "2200-01-01T00:00:00Z</Expiration></Credentials>"
                    "</AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"};
        }));
    test::fake_sources fake;
    fake.env = {{"HOME", "/home/u"},
                {"AWS_EC2_METADATA_DISABLED", "true"},
                {"AWS_ENDPOINT_URL_STS", sts.url()}};
    fake.files = {{"/home/u/.aws/config",
                   "[profile pod]\nrole_arn = arn:aws:iam::1:role/pod\n"
                   "web_identity_token_file = /var/run/pod-token\nrole_session_name = pod-2\n"},
                  {"/var/run/pod-token", "eyJ.profile.sig"}};
    std::unique_ptr<async_credentials_provider> provider;
    diagnostics diag;
    ASSERT_FALSE(select_credentials_provider(ctx.get_executor(), fake.sources(),
                                             {.profile = "pod", .region = "eu-west-1"}, provider,
                                             diag))
        << diag.message;
    credentials out;
    ASSERT_FALSE(test::fetch_credentials(ctx, *provider, out, diag)) << diag.message;
    EXPECT_EQ(out.access_key_id, "ASIAPROFILE");
    EXPECT_EQ(received_body,
              "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%"
              "3Arole%2Fpod&RoleSessionName=pod-2&WebIdentityToken=eyJ.profile.sig");
}

}  // namespace
}  // namespace dynalock::aws
