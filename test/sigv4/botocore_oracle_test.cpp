// Our signer against botocore's SigV4Auth on generated DynamoDB-style requests:
// botocore_oracle.py generates the cases (fixed seed) and signs them; each case here
// must produce the very same X-Amz-Date, X-Amz-Security-Token and Authorization.

#include "sigv4/signer.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

namespace sigv4 = dynalock::sigv4;
using nlohmann::json;

// Passed to the generator, which makes exactly this many cases.
constexpr std::size_t case_count = 300;

struct oracle_output {
    std::string error;  // empty when `cases` is usable
    json cases;
};

// Runs the generator once; every test case reads its result.
const oracle_output& oracle() {
    static const oracle_output output = [] {
        oracle_output result;
        const char* script = std::getenv("DYNALOCK_SIGV4_ORACLE");
        if (script == nullptr) {
            result.error = "DYNALOCK_SIGV4_ORACLE (path of botocore_oracle.py) is not set";
            return result;
        }
        const std::string command =
            std::string("python3 '") + script + "' " + std::to_string(case_count);
        FILE* pipe = popen(command.c_str(), "r");
        if (pipe == nullptr) {
            result.error = "cannot start: " + command;
            return result;
        }
        std::string text;
        char buffer[65536];
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) {
            text.append(buffer, n);
        }
        const int status = pclose(pipe);
        const int exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        if (exit_code == 127) {
            result.error = "python3 is not installed (or not on PATH)";
        } else if (exit_code == 2) {
            result.error = "botocore is not installed for python3 (see stderr)";
        } else if (exit_code != 0) {
            result.error = command + " failed with status " + std::to_string(status);
        } else {
            result.cases = json::parse(text).at("cases");
        }
        return result;
    }();
    return output;
}

class sigv4_botocore_oracle : public ::testing::TestWithParam<std::size_t> {};

TEST_P(sigv4_botocore_oracle, same_headers_as_botocore) {
    ASSERT_TRUE(oracle().error.empty()) << oracle().error;
    ASSERT_LT(GetParam(), oracle().cases.size());
    const json& c = oracle().cases[GetParam()];
    const json& expected = c.at("expected");
    SCOPED_TRACE(c.at("name").get<std::string>());

    const std::string host =
        sigv4::host_header_value(c.at("host").get<std::string>(), c.at("port").get<std::uint16_t>(),
                                 c.at("tls").get<bool>());
    EXPECT_EQ(host, expected.at("host").get<std::string>());

    const auto header_pairs =
        c.at("headers").get<std::vector<std::pair<std::string, std::string>>>();
    std::vector<sigv4::header> headers{{"Host", host}};
    for (const auto& [name, value] : header_pairs) {
        headers.push_back({name, value});
    }
    const std::string path = c.at("path").get<std::string>();
    const std::string body = c.at("body").get<std::string>();
    const sigv4::request req{"POST", path, "", headers, body};

    dynalock::credentials creds;
    creds.access_key_id = c.at("access_key").get<std::string>();
    creds.secret_access_key = c.at("secret").get<std::string>();
    creds.session_token = c.at("token").get<std::string>();
    const std::chrono::system_clock::time_point time{
        std::chrono::seconds{c.at("timestamp").get<std::int64_t>()}};

    sigv4::signer signer(c.at("region").get<std::string>(), "dynamodb");
    sigv4::auth_headers out;
    ASSERT_FALSE(signer.sign(req, creds, time, out));
    EXPECT_EQ(out.x_amz_date, expected.at("x_amz_date").get<std::string>());
    EXPECT_EQ(out.x_amz_security_token, expected.at("x_amz_security_token").get<std::string>());
    EXPECT_EQ(out.authorization, expected.at("authorization").get<std::string>());

    // On a mismatch, the canonical requests show where the two signers part.
    std::string canonical_request;
    ASSERT_FALSE(signer.canonical_request(req, creds, time, canonical_request));
    EXPECT_EQ(canonical_request, expected.at("canonical_request").get<std::string>());
}

// The cases are indices: the generator runs when the tests run, not at registration.
std::vector<std::size_t> case_indices() {
    std::vector<std::size_t> indices(case_count);
    for (std::size_t i = 0; i < indices.size(); ++i) {
        indices[i] = i;
    }
    return indices;
}

INSTANTIATE_TEST_SUITE_P(generated, sigv4_botocore_oracle, ::testing::ValuesIn(case_indices()));

TEST(sigv4_botocore_oracle_setup, generator_gives_every_case) {
    ASSERT_TRUE(oracle().error.empty()) << oracle().error;
    EXPECT_EQ(oracle().cases.size(), case_count);
}

}  // namespace
