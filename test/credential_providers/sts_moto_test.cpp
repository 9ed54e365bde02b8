#include "aws/fake_sources.hpp"
#include "coroutine_test_support.hpp"
#include "credential_providers/credential_chain.hpp"
#include "credential_providers/credentials_cache.hpp"
#include "support/scripted_http_server.hpp"

#include <dynalock/dynamodb_client.hpp>

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/deferred.hpp>

#include <cstdlib>

namespace dynalock::aws {
namespace {

const char* const role_arn = "arn:aws:iam::123456789012:role/dynalock-test";

std::string required_env(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') {
        ADD_FAILURE()
            << name << " is not set: run under `python3 tools/test_servers.py --only moto -- ...`";
        return {};
    }
    return value;
}

// The chain resolved against moto's STS, then asked through a cache, as the
// client will.
class StsOnMoto : public ::testing::Test {
protected:
    void SetUp() override {
        moto_url = required_env("DYNALOCK_TEST_MOTO_URL");
        access_key_id = required_env("DYNALOCK_TEST_MOTO_ACCESS_KEY_ID");
        secret_access_key = required_env("DYNALOCK_TEST_MOTO_SECRET_ACCESS_KEY");
        ASSERT_FALSE(moto_url.empty() || access_key_id.empty() || secret_access_key.empty());
        fake.env = {{"HOME", "/home/u"},
                    {"AWS_EC2_METADATA_DISABLED", "true"},
                    {"AWS_ENDPOINT_URL_STS", moto_url}};
        options.region = "us-east-1";
    }

    error_code get(credentials& out, diagnostics& diag) {
        std::unique_ptr<async_credentials_provider> provider;
        if (error_code ec = select_credentials_provider(ctx.get_executor(), fake.sources(), options,
                                                        provider, diag)) {
            return ec;
        }
        credentials_cache cache(ctx.get_executor(), std::move(provider));
        error_code result;
        test::run_coroutine(ctx, [&]() -> boost::asio::awaitable<void> {
            auto op = cache.get(out, diag);
            result = co_await std::move(op);
        }());
        return result;
    }

    boost::asio::io_context ctx;
    test::fake_sources fake;
    credential_chain_options options;
    std::string moto_url;
    std::string access_key_id;
    std::string secret_access_key;
};

TEST_F(StsOnMoto, AssumeRoleFromASourceProfile) {
    fake.files["/home/u/.aws/config"] = std::string("[profile admin]\nrole_arn = ") + role_arn +
                                        "\nsource_profile = base\nrole_session_name = chain-test\n"
                                        "[profile base]\naws_access_key_id = " +
                                        access_key_id +
                                        "\naws_secret_access_key = " + secret_access_key + "\n";
    options.profile = "admin";
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(out, diag)) << diag.message;
    EXPECT_FALSE(out.access_key_id.empty());
    EXPECT_NE(out.access_key_id, access_key_id);
    EXPECT_FALSE(out.session_token.empty());
    ASSERT_TRUE(out.expiration.has_value());
    EXPECT_GT(*out.expiration, std::chrono::system_clock::now());
}

TEST_F(StsOnMoto, AssumeRoleWithTheEnvironmentAsCredentialSource) {
    fake.env["AWS_ACCESS_KEY_ID"] = access_key_id;
    fake.env["AWS_SECRET_ACCESS_KEY"] = secret_access_key;
    fake.files["/home/u/.aws/config"] = std::string("[profile admin]\nrole_arn = ") + role_arn +
                                        "\ncredential_source = Environment\n";
    options.profile = "admin";
    options.explicit_profile = true;
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(out, diag)) << diag.message;
    EXPECT_FALSE(out.access_key_id.empty());
    EXPECT_NE(out.access_key_id, access_key_id);
    EXPECT_FALSE(out.session_token.empty());
}

TEST_F(StsOnMoto, AssumeRoleWithTheContainerAsCredentialSource) {
    // The container endpoint hands out the session credentials moto issued to
    // the test command, as a task role's would be; AssumeRole is signed with them.
    const std::string container_document =
        R"({"AccessKeyId":")" + required_env("DYNALOCK_TEST_MOTO_SESSION_ACCESS_KEY_ID") +
        R"(","SecretAccessKey":")" + required_env("DYNALOCK_TEST_MOTO_SESSION_SECRET_ACCESS_KEY") +
        R"(","Token":")" + required_env("DYNALOCK_TEST_MOTO_SESSION_TOKEN") +
        R"(","Expiration":"2200-01-01T00:00:00Z"})";
    int container_requests = 0;
    test::scripted_http_server container(
        ctx, test::answer_each([&](const test::wire_request& req) {
            ++container_requests;
            return req.target() == "/v2/credentials/task"
                       ? test::scripted_reply{.status = 200, .body = container_document}
                       : test::scripted_reply{.status = 404, .body = "no such path"};
        }));
    fake.env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/task";
    options.container_base_url = container.url();
    fake.files["/home/u/.aws/config"] = std::string("[profile admin]\nrole_arn = ") + role_arn +
                                        "\ncredential_source = EcsContainer\n";
    options.profile = "admin";
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(out, diag)) << diag.message;
    EXPECT_EQ(container_requests, 1);
    EXPECT_FALSE(out.access_key_id.empty());
    EXPECT_NE(out.access_key_id, required_env("DYNALOCK_TEST_MOTO_SESSION_ACCESS_KEY_ID"));
    EXPECT_FALSE(out.session_token.empty());
}

TEST_F(StsOnMoto, AssumeRoleWithAnUnknownSourceKeyFails) {
    fake.files["/home/u/.aws/config"] =
        std::string("[profile admin]\nrole_arn = ") + role_arn +
        "\nsource_profile = base\n[profile base]\naws_access_key_id = AKIAUNKNOWN0000000000\n"
        "aws_secret_access_key = wrong\n";
    options.profile = "admin";
    credentials out;
    diagnostics diag;
    EXPECT_EQ(get(out, diag), errc::credentials_unavailable);
    EXPECT_TRUE(diag.message.starts_with("STS: ")) << diag.message;
}

// On the moto that does not check signatures (see tools/test_servers.py: the
// checking one answers 500 to this unsigned call). The credentials it mints
// are then accepted by DynamoDB there (a missing table is the answer, not an
// authorisation error).
TEST_F(StsOnMoto, WebIdentityFromTheEnvironment) {
    const std::string open_url = required_env("DYNALOCK_TEST_MOTO_OPEN_URL");
    ASSERT_FALSE(open_url.empty());
    fake.env["AWS_ENDPOINT_URL_STS"] = open_url;
    fake.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/secrets/token";
    fake.env["AWS_ROLE_ARN"] = role_arn;
    fake.env["AWS_ROLE_SESSION_NAME"] = "dynalock-web-identity";
    fake.files["/var/run/secrets/token"] = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJkeW5hbG9jayJ9.";
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(out, diag)) << diag.message;
    EXPECT_TRUE(out.access_key_id.starts_with("ASIA")) << out.access_key_id;
    EXPECT_FALSE(out.secret_access_key.empty());
    EXPECT_FALSE(out.session_token.empty());
    ASSERT_TRUE(out.expiration.has_value());
    EXPECT_GT(*out.expiration, std::chrono::system_clock::now());

    dynamodb::client db(ctx.get_executor(),
                        {.region = "us-east-1", .endpoint_url = open_url, .credentials = out});
    error_code described;
    test::run_coroutine(ctx, [&]() -> boost::asio::awaitable<void> {
        auto op = db.async_execute(dynamodb::describe_table_request{.table_name = "no-such-table"},
                                   boost::asio::as_tuple(boost::asio::deferred));
        auto [ec, r] = co_await std::move(op);
        described = ec;
    }());
    EXPECT_EQ(described, errc::resource_not_found) << described.message();
}

TEST_F(StsOnMoto, WebIdentityTokenFileMissing) {
    fake.env["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/var/run/secrets/token";
    fake.env["AWS_ROLE_ARN"] = role_arn;
    credentials out;
    diagnostics diag;
    EXPECT_EQ(get(out, diag), errc::credentials_unavailable);
    EXPECT_TRUE(diag.message.starts_with("web identity: cannot read /var/run/secrets/token"))
        << diag.message;
}

}  // namespace
}  // namespace dynalock::aws
