#include "credential_providers/container_credentials.hpp"
#include "aws/fake_sources.hpp"
#include "coroutine_test_support.hpp"
#include "support/scripted_http_server.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace dynalock::aws {
namespace {

using namespace std::chrono_literals;

const std::string document =
    R"({"AccessKeyId":"AKCONTAINER","SecretAccessKey":"SK","Token":"TK",)"
    R"("Expiration":"2200-01-01T00:00:00Z","RoleArn":"arn:aws:iam::1:role/task"})";

class ContainerCredentials : public ::testing::Test {
protected:
    // The server answers the relative URI only with the right token.
    void start_server(std::string body = document, std::chrono::milliseconds delay = 0ms) {
        server.emplace(
            ctx, test::answer_each([this, body, delay](const test::wire_request& req) {
                authorizations.emplace_back(req[boost::beast::http::field::authorization]);
                if (req.target() != "/v2/credentials/abc") {
                    return test::scripted_reply{.status = 404, .body = "no such path"};
                }
                if (req[boost::beast::http::field::authorization] != "secret-token") {
                    return test::scripted_reply{.status = 401,
                                                .body = R"({"code":"Unauthorized"})"};
                }
                return test::scripted_reply{.status = 200, .body = body, .delay = delay};
            }));
    }

    error_code configure(diagnostics& diag) {
        return container_credentials_provider::from_environment(ctx.get_executor(), fake.sources(),
                                                                provider, diag, server->url());
    }

    error_code fetch(credentials& out, diagnostics& diag, std::chrono::milliseconds timeout = 5s) {
        return test::fetch_credentials(ctx, *provider, out, diag, timeout);
    }

    boost::asio::io_context ctx;
    test::fake_sources fake;
    std::optional<test::scripted_http_server> server;
    std::unique_ptr<async_credentials_provider> provider;
    std::vector<std::string> authorizations;
};

TEST_F(ContainerCredentials, RelativeUriWithToken) {
    start_server();
    fake.env = {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-token"}};
    diagnostics diag;
    ASSERT_FALSE(configure(diag)) << diag.message;
    credentials out;
    ASSERT_FALSE(fetch(out, diag)) << diag.message;
    EXPECT_EQ(out.access_key_id, "AKCONTAINER");
    EXPECT_EQ(out.session_token, "TK");
    EXPECT_EQ(server->request_lines(), std::vector<std::string>{"GET /v2/credentials/abc"});
}

TEST_F(ContainerCredentials, FullUriWithTokenFileReadAtEachFetch) {
    start_server();
    fake.env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", server->url() + "/v2/credentials/abc"},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/var/run/token"}};
    fake.files = {{"/var/run/token", "secret-token\n"}};
    diagnostics diag;
    ASSERT_FALSE(configure(diag)) << diag.message;
    credentials out;
    ASSERT_FALSE(fetch(out, diag)) << diag.message;
    EXPECT_EQ(out.access_key_id, "AKCONTAINER");
    fake.files["/var/run/token"] = "rotated";
    EXPECT_EQ(fetch(out, diag), errc::credentials_unavailable);
    EXPECT_EQ(authorizations, (std::vector<std::string>{"secret-token", "rotated"}));
}

TEST_F(ContainerCredentials, TokenRequired) {
    start_server();
    fake.env = {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"}};
    diagnostics diag;
    ASSERT_FALSE(configure(diag));
    credentials out;
    EXPECT_EQ(fetch(out, diag), errc::credentials_unavailable);
    EXPECT_EQ(
        diag.message,
        R"(container credentials: /v2/credentials/abc answered HTTP 401: {"code":"Unauthorized"})");
    EXPECT_EQ(diag.http_status, 401u);
}

TEST_F(ContainerCredentials, SlowEndpointTimesOut) {
    start_server(document, 10s);
    fake.env = {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-token"}};
    diagnostics diag;
    ASSERT_FALSE(configure(diag));
    credentials out;
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(fetch(out, diag, 300ms), errc::timeout) << diag.message;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
}

TEST_F(ContainerCredentials, AbsentEndpointFailsQuickly) {
    fake.env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "http://127.0.0.1:" + std::to_string(test::free_loopback_port()) + "/creds"}};
    diagnostics diag;
    ASSERT_FALSE(container_credentials_provider::from_environment(ctx.get_executor(),
                                                                  fake.sources(), provider, diag))
        << diag.message;
    credentials out;
    EXPECT_EQ(fetch(out, diag), errc::connect_failed) << diag.message;
    EXPECT_TRUE(diag.message.starts_with("container credentials: ")) << diag.message;
}

TEST_F(ContainerCredentials, MalformedJson) {
    start_server("{\"AccessKeyId\": ");
    fake.env = {{"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc"},
                {"AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-token"}};
    diagnostics diag;
    ASSERT_FALSE(configure(diag));
    credentials out;
    EXPECT_EQ(fetch(out, diag), errc::malformed_response);
    EXPECT_EQ(diag.message, "container credentials: the output is not a JSON object");
}

TEST_F(ContainerCredentials, NotConfigured) {
    diagnostics diag;
    EXPECT_EQ(container_credentials_provider::from_environment(ctx.get_executor(), fake.sources(),
                                                               provider, diag),
              errc::credentials_unavailable);
    EXPECT_EQ(diag.message,
              "container: neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor "
              "AWS_CONTAINER_CREDENTIALS_FULL_URI is set");
}

TEST_F(ContainerCredentials, PlainHttpOnlyToTrustedHosts) {
    for (const char* refused : {"http://example.com/creds", "http://10.0.0.1/creds"}) {
        fake.env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", refused}};
        diagnostics diag;
        EXPECT_EQ(container_credentials_provider::from_environment(ctx.get_executor(),
                                                                   fake.sources(), provider, diag),
                  errc::invalid_config)
            << refused;
    }
    for (const char* accepted :
         {"https://example.com/creds", "http://localhost:8080/creds", "http://169.254.170.23/v1",
          "http://[::1]:80/", "http://127.0.0.2/x"}) {
        fake.env = {{"AWS_CONTAINER_CREDENTIALS_FULL_URI", accepted}};
        diagnostics diag;
        EXPECT_FALSE(container_credentials_provider::from_environment(
            ctx.get_executor(), fake.sources(), provider, diag))
            << accepted << ": " << diag.message;
    }
}

}  // namespace
}  // namespace dynalock::aws
