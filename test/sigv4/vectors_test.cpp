// SigV4 against the official test vectors in ../shared/testdata/sigv4/: botocore's
// aws4_testsuite (raw .req with expected .creq/.sts/.authz) and aws-c-auth's
// aws-signing-test-suite/v4 (request.txt + context.json with expected header-*.txt).
// Only header signing is checked: the query-*.txt (presigned URL) files are not used.

#include "sigv4/signer.hpp"

#include "sigv4/crypto.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
namespace sigv4 = dynalock::sigv4;
using std::chrono::system_clock;

// Cases left out, with the reason. A name here that is not a case on disk fails
// `skip_list_names_existing_cases`, so the list cannot silently go stale.
const std::map<std::string, std::string> skipped_cases = {
    {"aws4_testsuite/post-sts-token/post-sts-header-after",
     "adds X-Amz-Security-Token unsigned after signing; we always sign the token (DynamoDB)"},
    {"aws-signing-test-suite/v4/post-sts-header-after",
     "omit_session_token: token added unsigned after signing; we always sign the token"},
};

// The fixed inputs of botocore's aws4_testsuite harness (they are not in the files).
constexpr const char* aws4_access_key = "AKIDEXAMPLE";
constexpr const char* aws4_secret_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr const char* aws4_region = "us-east-1";
constexpr const char* aws4_service = "service";
constexpr const char* aws4_date = "20150830T123600Z";
// get-vanilla-with-session-token's token appears only in its expected output.
constexpr const char* aws4_session_token_case = "aws4_testsuite/get-vanilla-with-session-token";
constexpr const char* aws4_session_token =
    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267";

struct vector_case {
    std::string name;  // path relative to the testdata directory
    fs::path dir;
    bool is_aws4_testsuite;
};

void PrintTo(const vector_case& c, std::ostream* os) {
    *os << c.name;
}

std::optional<fs::path> testdata_dir() {
    const char* dir = std::getenv("DYNALOCK_SIGV4_TESTDATA");
    if (dir == nullptr || !fs::is_directory(dir)) {
        return std::nullopt;
    }
    return fs::path(dir);
}

std::vector<vector_case> all_cases() {
    std::vector<vector_case> cases;
    const auto root = testdata_dir();
    if (!root) {
        return cases;
    }
    const fs::path aws4 = *root / "aws4_testsuite";
    if (fs::is_directory(aws4)) {
        for (const auto& entry : fs::recursive_directory_iterator(aws4)) {
            const fs::path dir = entry.path();
            if (entry.is_directory() && fs::exists(dir / (dir.filename().string() + ".req"))) {
                cases.push_back({fs::relative(dir, *root).generic_string(), dir, true});
            }
        }
    }
    const fs::path crt = *root / "aws-signing-test-suite" / "v4";
    if (fs::is_directory(crt)) {
        for (const auto& entry : fs::directory_iterator(crt)) {
            if (entry.is_directory() && fs::exists(entry.path() / "request.txt")) {
                cases.push_back(
                    {fs::relative(entry.path(), *root).generic_string(), entry.path(), false});
            }
        }
    }
    std::sort(cases.begin(), cases.end(),
              [](const vector_case& a, const vector_case& b) { return a.name < b.name; });
    return cases;
}

std::vector<vector_case> applicable_cases() {
    std::vector<vector_case> cases = all_cases();
    std::erase_if(cases, [](const vector_case& c) { return skipped_cases.contains(c.name); });
    return cases;
}

std::string read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error("cannot read " + path.string());
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A raw HTTP/1.1 request as the suites write it: LF line ends, a request target that
// may contain spaces and raw UTF-8, folded header lines, then the body.
struct raw_request {
    std::string method;
    std::string path;
    std::string query;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

raw_request parse_request(const std::string& text) {
    raw_request req;
    std::size_t pos = text.find('\n');
    const std::string request_line = text.substr(0, pos);
    const std::size_t method_end = request_line.find(' ');
    const std::size_t target_end = request_line.rfind(' ');
    const std::string target = request_line.substr(method_end + 1, target_end - method_end - 1);
    req.method = request_line.substr(0, method_end);
    const std::size_t question = target.find('?');
    req.path = target.substr(0, question);
    if (question != std::string::npos) {
        req.query = target.substr(question + 1);
    }
    while (pos != std::string::npos && pos < text.size()) {
        const std::size_t line_begin = pos + 1;
        std::size_t line_end = text.find('\n', line_begin);
        const std::string line = text.substr(line_begin, line_end - line_begin);
        pos = line_end;
        if (line.empty()) {
            if (line_end != std::string::npos) {
                req.body = text.substr(line_end + 1);
            }
            break;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            req.headers.back().second += "\n" + line;  // obsolete line folding
            continue;
        }
        const std::size_t colon = line.find(':');
        req.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
    return req;
}

// Removes the header `name` (any case) and returns its value, if it was there.
std::optional<std::string> take_header(raw_request& req, std::string_view name) {
    for (auto it = req.headers.begin(); it != req.headers.end(); ++it) {
        std::string lower = it->first;
        std::transform(lower.begin(), lower.end(), lower.begin(),
                       [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
        if (lower == name) {
            std::string value = it->second;
            req.headers.erase(it);
            return value;
        }
    }
    return std::nullopt;
}

system_clock::time_point parse_iso8601(const std::string& text) {
    // Both forms the suites use: 2015-08-30T12:36:00Z and 20150830T123600Z.
    std::string digits;
    std::copy_if(text.begin(), text.end(), std::back_inserter(digits),
                 [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    if (digits.size() != 14) {
        throw std::runtime_error("bad timestamp " + text);
    }
    const auto number = [&](std::size_t at, std::size_t size) {
        return std::stoi(digits.substr(at, size));
    };
    using namespace std::chrono;
    const sys_days day = year{number(0, 4)} / number(4, 2) / number(6, 2);
    return day + hours{number(8, 2)} + minutes{number(10, 2)} + seconds{number(12, 2)};
}

// Everything needed to sign one vector and what it must produce.
struct prepared_case {
    raw_request req;
    dynalock::credentials creds;
    std::string region;
    std::string service;
    bool normalize = true;
    system_clock::time_point time;
    std::string expected_canonical_request;
    std::string expected_string_to_sign;
    std::string expected_authorization;
};

prepared_case prepare_aws4_testsuite(const vector_case& c) {
    const std::string base = (c.dir / c.dir.filename()).string();
    prepared_case p;
    p.req = parse_request(read_file(base + ".req"));
    const auto date = take_header(p.req, "x-amz-date");
    p.time = parse_iso8601(date.value_or(aws4_date));
    p.creds.access_key_id = aws4_access_key;
    p.creds.secret_access_key = aws4_secret_key;
    p.creds.session_token = take_header(p.req, "x-amz-security-token").value_or("");
    if (c.name == aws4_session_token_case) {
        p.creds.session_token = aws4_session_token;
    }
    p.region = aws4_region;
    p.service = aws4_service;
    p.expected_canonical_request = read_file(base + ".creq");
    p.expected_string_to_sign = read_file(base + ".sts");
    p.expected_authorization = read_file(base + ".authz");
    return p;
}

prepared_case prepare_aws_signing_test_suite(const vector_case& c) {
    prepared_case p;
    p.req = parse_request(read_file(c.dir / "request.txt"));
    const auto context = nlohmann::json::parse(read_file(c.dir / "context.json"));
    const auto& creds = context.at("credentials");
    p.creds.access_key_id = creds.at("access_key_id").get<std::string>();
    p.creds.secret_access_key = creds.at("secret_access_key").get<std::string>();
    p.creds.session_token = creds.value("token", std::string());
    p.region = context.at("region").get<std::string>();
    p.service = context.at("service").get<std::string>();
    p.normalize = context.at("normalize").get<bool>();
    p.time = parse_iso8601(context.at("timestamp").get<std::string>());
    if (context.at("sign_body").get<bool>()) {
        // aws-c-auth's "sign_body" sends the payload hash as a signed header (S3 style).
        dynalock::sigv4::detail::sha256_hasher sha256;
        std::string hash;
        dynalock::sigv4::detail::append_hex(hash, sha256.digest(p.req.body));
        p.req.headers.emplace_back("x-amz-content-sha256", hash);
    }
    p.expected_canonical_request = read_file(c.dir / "header-canonical-request.txt");
    p.expected_string_to_sign = read_file(c.dir / "header-string-to-sign.txt");
    const raw_request signed_request =
        parse_request(read_file(c.dir / "header-signed-request.txt"));
    for (const auto& [name, value] : signed_request.headers) {
        if (name == "Authorization") {
            p.expected_authorization = value;
        }
    }
    const std::string signature = read_file(c.dir / "header-signature.txt");
    EXPECT_TRUE(p.expected_authorization.ends_with("Signature=" + signature))
        << "the suite's own files disagree";
    return p;
}

class sigv4_vectors : public ::testing::TestWithParam<vector_case> {};

TEST_P(sigv4_vectors, matches_expected_output) {
    const vector_case& c = GetParam();
    const prepared_case p =
        c.is_aws4_testsuite ? prepare_aws4_testsuite(c) : prepare_aws_signing_test_suite(c);

    std::vector<sigv4::header> headers;
    for (const auto& [name, value] : p.req.headers) {
        headers.push_back({name, value});
    }
    const sigv4::request req{p.req.method, p.req.path, p.req.query, headers, p.req.body};
    sigv4::signer signer(p.region, p.service, {.normalize_path = p.normalize});

    std::string canonical_request;
    ASSERT_FALSE(signer.canonical_request(req, p.creds, p.time, canonical_request));
    EXPECT_EQ(canonical_request, p.expected_canonical_request);

    std::string string_to_sign;
    ASSERT_FALSE(signer.string_to_sign(req, p.creds, p.time, string_to_sign));
    EXPECT_EQ(string_to_sign, p.expected_string_to_sign);

    sigv4::auth_headers out;
    ASSERT_FALSE(signer.sign(req, p.creds, p.time, out));
    EXPECT_EQ(out.authorization, p.expected_authorization);
    EXPECT_EQ(out.x_amz_date, "20150830T123600Z");
    EXPECT_EQ(out.x_amz_security_token, p.creds.session_token);
}

std::string case_test_name(const ::testing::TestParamInfo<vector_case>& info) {
    std::string name = info.param.name;
    std::replace_if(
        name.begin(), name.end(),
        [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return name;
}

INSTANTIATE_TEST_SUITE_P(official, sigv4_vectors, ::testing::ValuesIn(applicable_cases()),
                         case_test_name);

TEST(sigv4_vectors_setup, testdata_present) {
    ASSERT_TRUE(testdata_dir().has_value())
        << "SigV4 test vectors not found: DYNALOCK_SIGV4_TESTDATA="
        << (std::getenv("DYNALOCK_SIGV4_TESTDATA") ? std::getenv("DYNALOCK_SIGV4_TESTDATA")
                                                   : "(unset)")
        << " must name the folder holding aws4_testsuite/ and aws-signing-test-suite/ "
           "(../shared/testdata/sigv4 next to the clone)";
    const auto cases = all_cases();
    const auto count = [&](bool aws4) {
        return std::count_if(cases.begin(), cases.end(),
                             [&](const vector_case& c) { return c.is_aws4_testsuite == aws4; });
    };
    // Both suites must be there in full, not just the folder.
    EXPECT_GE(count(true), 30) << "aws4_testsuite is missing cases";
    EXPECT_GE(count(false), 30) << "aws-signing-test-suite/v4 is missing cases";
}

TEST(sigv4_vectors_setup, skip_list_names_existing_cases) {
    const auto cases = all_cases();
    for (const auto& skipped : skipped_cases) {
        EXPECT_TRUE(std::any_of(cases.begin(), cases.end(),
                                [&](const vector_case& c) { return c.name == skipped.first; }))
            << "skip-list entry is not a test vector: " << skipped.first << " (" << skipped.second
            << ")";
    }
}

}  // namespace
