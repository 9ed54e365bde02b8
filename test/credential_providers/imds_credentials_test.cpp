#include "credential_providers/imds_credentials.hpp"
#include "aws/fake_sources.hpp"
#include "coroutine_test_support.hpp"
#include "credential_providers/credential_chain.hpp"
#include "support/scripted_http_server.hpp"

#include <gtest/gtest.h>

#include <optional>

namespace dynalock::aws {
namespace {

using namespace std::chrono_literals;
namespace bhttp = boost::beast::http;

const std::string role_path = "/latest/meta-data/iam/security-credentials/";

// A metadata service following the IMDSv2 protocol: a token from PUT with a
// TTL header, required on every GET. `valid_token` can be changed to play an
// expired token.
class fake_imds {
public:
    std::string valid_token = "token-1";
    std::string document =
        R"({"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC",)"
        R"("AccessKeyId":"AKIMDS","SecretAccessKey":"SK","Token":"TK",)"
        R"("Expiration":"2200-01-01T00:00:00Z"})";
    std::chrono::milliseconds delay{0};

    test::scripted_reply answer(const test::wire_request& req) {
        if (req.method() == bhttp::verb::put && req.target() == "/latest/api/token") {
            if (req["X-aws-ec2-metadata-token-ttl-seconds"].empty()) {
                return {.status = 400, .body = "missing TTL"};
            }
            return {.status = 200, .body = valid_token, .delay = delay};
        }
        if (req.method() != bhttp::verb::get) {
            return {.status = 405};
        }
        if (req["X-aws-ec2-metadata-token"] != valid_token) {
            return {.status = 401};
        }
        if (req.target() == role_path) {
            return {.status = 200, .body = "dynalock-role\n"};
        }
        if (req.target() == role_path + "dynalock-role") {
            return {.status = 200, .body = document};
        }
        return {.status = 404};
    }
};

class ImdsCredentials : public ::testing::Test {
protected:
    void start_server() {
        server.emplace(ctx, test::answer_each([this](const test::wire_request& req) {
                           return imds.answer(req);
                       }));
        fake.env = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", server->url() + "/"}};
    }

    error_code configure(diagnostics& diag) {
        return imds_credentials_provider::from_environment(ctx.get_executor(), fake.sources(),
                                                           provider, diag);
    }

    error_code fetch(credentials& out, diagnostics& diag, std::chrono::milliseconds timeout = 5s) {
        return test::fetch_credentials(ctx, *provider, out, diag, timeout);
    }

    boost::asio::io_context ctx;
    test::fake_sources fake;
    fake_imds imds;
    std::optional<test::scripted_http_server> server;
    std::unique_ptr<async_credentials_provider> provider;
};

TEST_F(ImdsCredentials, TokenThenRoleThenCredentials) {
    start_server();
    diagnostics diag;
    ASSERT_FALSE(configure(diag)) << diag.message;
    credentials out;
    ASSERT_FALSE(fetch(out, diag)) << diag.message;
    EXPECT_EQ(out.access_key_id, "AKIMDS");
    EXPECT_EQ(out.session_token, "TK");
    EXPECT_EQ(server->request_lines(),
              (std::vector<std::string>{"PUT /latest/api/token", "GET " + role_path,
                                        "GET " + role_path + "dynalock-role"}));
}

TEST_F(ImdsCredentials, TheTokenIsReusedAndRenewedOnceWhenRejected) {
    start_server();
    diagnostics diag;
    ASSERT_FALSE(configure(diag));
    credentials out;
    ASSERT_FALSE(fetch(out, diag)) << diag.message;
    imds.valid_token = "token-2";  // the first token expired
    server->forget_requests();
    ASSERT_FALSE(fetch(out, diag)) << diag.message;
    EXPECT_EQ(out.access_key_id, "AKIMDS");
    EXPECT_EQ(server->request_lines(),
              (std::vector<std::string>{"GET " + role_path, "PUT /latest/api/token",
                                        "GET " + role_path, "GET " + role_path + "dynalock-role"}));
}

TEST_F(ImdsCredentials, ARejectedFreshTokenIsNotRetriedForEver) {
    start_server();
    server.emplace(ctx, test::answer_each([](const test::wire_request& req) {
                       return req.method() == bhttp::verb::put
                                  ? test::scripted_reply{.status = 200, .body = "t"}
                                  : test::scripted_reply{.status = 401};
                   }));
    fake.env = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", server->url()}};
    diagnostics diag;
    ASSERT_FALSE(configure(diag));
    credentials out;
    EXPECT_EQ(fetch(out, diag), errc::credentials_unavailable);
    EXPECT_EQ(diag.message, "instance metadata: " + role_path + " answered HTTP 401");
    EXPECT_EQ(server->request_lines().size(), 2u);
}

TEST_F(ImdsCredentials, AbsentEndpointFailsQuickly) {
    fake.env = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT",
                 "http://127.0.0.1:" + std::to_string(test::free_loopback_port())}};
    diagnostics diag;
    ASSERT_FALSE(configure(diag));
    credentials out;
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(fetch(out, diag), errc::connect_failed) << diag.message;
    EXPECT_LT(std::chrono::steady_clock::now() - started, 1s);
}

TEST_F(ImdsCredentials, SlowEndpointGivesUpAfterOneSecond) {
    start_server();
    imds.delay = 10s;
    diagnostics diag;
    ASSERT_FALSE(configure(diag));
    credentials out;
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(fetch(out, diag, 30s), errc::timeout) << diag.message;
    auto elapsed = std::chrono::steady_clock::now() - started;
    EXPECT_GE(elapsed, 900ms);
    EXPECT_LT(elapsed, 3s);
}

TEST_F(ImdsCredentials, MalformedJson) {
    start_server();
    imds.document = "<html>not json</html>";
    diagnostics diag;
    ASSERT_FALSE(configure(diag));
    credentials out;
    EXPECT_EQ(fetch(out, diag), errc::malformed_response);
    EXPECT_EQ(diag.message, "instance metadata: the output is not a JSON object");
}

TEST_F(ImdsCredentials, DisabledByTheEnvironment) {
    fake.env = {{"AWS_EC2_METADATA_DISABLED", "TRUE"}};
    diagnostics diag;
    EXPECT_EQ(configure(diag), errc::credentials_unavailable);
    EXPECT_EQ(diag.message, "instance metadata: AWS_EC2_METADATA_DISABLED is true");
}

TEST_F(ImdsCredentials, EndpointWithAPathIsRefused) {
    fake.env = {{"AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1/latest"}};
    diagnostics diag;
    EXPECT_EQ(configure(diag), errc::invalid_endpoint);
}

TEST_F(ImdsCredentials, AsTheChainsLastResortItsFailureListsEverySource) {
    fake.env = {{"HOME", "/home/u"},
                {"AWS_EC2_METADATA_SERVICE_ENDPOINT",
                 "http://127.0.0.1:" + std::to_string(test::free_loopback_port())}};
    diagnostics diag;
    ASSERT_FALSE(
        select_credentials_provider(ctx.get_executor(), fake.sources(), {}, provider, diag))
        << diag.message;
    credentials out;
    EXPECT_EQ(fetch(out, diag), errc::credentials_unavailable);
    EXPECT_TRUE(
        diag.message.starts_with("no AWS credentials found: environment: "
                                 "AWS_ACCESS_KEY_ID is not set; web identity: "))
        << diag.message;
    EXPECT_NE(diag.message.find("; container: neither"), std::string::npos) << diag.message;
    EXPECT_NE(diag.message.find("; instance metadata: "), std::string::npos) << diag.message;
}

}  // namespace
}  // namespace dynalock::aws
