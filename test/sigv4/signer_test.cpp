// The signer's own rules beyond the official vectors: the host header helper, input
// errors, the signing-key cache, buffer reuse and canonicalization corner cases.

#include "sigv4/signer.hpp"
#include "sigv4/crypto.hpp"

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

namespace {

namespace sigv4 = dynalock::sigv4;
using dynalock::errc;
using dynalock::error_code;
using std::chrono::system_clock;

const system_clock::time_point day_one = std::chrono::sys_days{std::chrono::year{2024} / 2 / 29} +
                                         std::chrono::hours{23} + std::chrono::minutes{59} +
                                         std::chrono::seconds{59};

dynalock::credentials long_term(std::string key, std::string secret) {
    dynalock::credentials creds;
    creds.access_key_id = std::move(key);
    creds.secret_access_key = std::move(secret);
    return creds;
}

struct dynamodb_request {
    std::vector<sigv4::header> headers{
        {"Host", "dynamodb.eu-west-1.amazonaws.com"},
        {"Content-Type", "application/x-amz-json-1.0"},
        {"X-Amz-Target", "DynamoDB_20120810.GetItem"},
    };
    std::string path = "/";
    std::string query;
    std::string body = R"({"TableName":"locks","Key":{"id":{"S":"job-1"}}})";

    sigv4::request view() const { return {"POST", path, query, headers, body}; }
};

// The canonical request's lines: method, URI, query, headers..., "", signed, hash.
std::vector<std::string> canonical_lines(sigv4::signer& signer, const sigv4::request& req) {
    std::string text;
    EXPECT_FALSE(signer.canonical_request(req, long_term("AKID", "secret"), day_one, text));
    std::vector<std::string> lines;
    std::size_t begin = 0;
    for (std::size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) {
        lines.push_back(text.substr(begin, end - begin));
    }
    lines.push_back(text.substr(begin));
    return lines;
}

std::string authorization(const sigv4::request& req, const dynalock::credentials& creds,
                          system_clock::time_point time) {
    sigv4::signer fresh("eu-west-1", "dynamodb");
    sigv4::auth_headers out;
    EXPECT_FALSE(fresh.sign(req, creds, time, out));
    return out.authorization;
}

std::string hex(std::span<const unsigned char> bytes) {
    std::string out;
    sigv4::detail::append_hex(out, bytes);
    return out;
}

// RFC 4231's cases 2 (a key shorter than a block) and 6 (longer: hashed
// first), and FIPS 180-2's "abc": the signature vectors use keys of one
// length only.
TEST(sigv4_crypto, hmac_and_sha256_match_their_standards_vectors) {
    sigv4::detail::hmac_sha256 hmac;
    const std::string jefe = "Jefe";
    hmac.set_key({reinterpret_cast<const unsigned char*>(jefe.data()), jefe.size()});
    EXPECT_EQ(hex(hmac.mac("what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(hex(hmac.mac("what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        << "the key is kept between messages";
    const std::vector<unsigned char> long_key(131, 0xaa);
    hmac.set_key(long_key);
    EXPECT_EQ(hex(hmac.mac("Test Using Larger Than Block-Size Key - Hash Key First")),
              "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
    EXPECT_EQ(hex(sigv4::detail::sha256_hasher{}.digest("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(sigv4_host_header, omits_only_the_schemes_default_port) {
    EXPECT_EQ(sigv4::host_header_value("dynamodb.us-east-1.amazonaws.com", 443, true),
              "dynamodb.us-east-1.amazonaws.com");
    EXPECT_EQ(sigv4::host_header_value("localhost", 80, false), "localhost");
    EXPECT_EQ(sigv4::host_header_value("127.0.0.1", 8000, false), "127.0.0.1:8000");
    EXPECT_EQ(sigv4::host_header_value("localhost", 443, false), "localhost:443");
    EXPECT_EQ(sigv4::host_header_value("localhost", 80, true), "localhost:80");
}

TEST(sigv4_host_header, lowercases_and_brackets_ipv6) {
    EXPECT_EQ(sigv4::host_header_value("DynamoDB.Local", 8000, false), "dynamodb.local:8000");
    EXPECT_EQ(sigv4::host_header_value("::1", 8000, false), "[::1]:8000");
    EXPECT_EQ(sigv4::host_header_value("[::1]", 443, true), "[::1]");
}

TEST(sigv4_signer, output_format) {
    dynamodb_request r;
    dynalock::credentials creds = long_term("AKIDEXAMPLE", "secret");
    creds.session_token = "token/with+chars==";
    sigv4::signer signer("eu-west-1", "dynamodb");
    sigv4::auth_headers out;
    ASSERT_FALSE(signer.sign(r.view(), creds, day_one, out));
    EXPECT_EQ(out.x_amz_date, "20240229T235959Z");
    EXPECT_EQ(out.x_amz_security_token, creds.session_token);
    const std::string prefix =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240229/eu-west-1/dynamodb/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
        "Signature=";
    ASSERT_TRUE(out.authorization.starts_with(prefix)) << out.authorization;
    const std::string signature = out.authorization.substr(prefix.size());
    EXPECT_EQ(signature.size(), 64u);
    EXPECT_EQ(signature.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(sigv4_signer, reused_output_drops_a_previous_token) {
    dynamodb_request r;
    dynalock::credentials with_token = long_term("AKID", "secret");
    with_token.session_token = "token";
    sigv4::signer signer("eu-west-1", "dynamodb");
    sigv4::auth_headers out;
    ASSERT_FALSE(signer.sign(r.view(), with_token, day_one, out));
    ASSERT_FALSE(signer.sign(r.view(), long_term("AKID", "secret"), day_one, out));
    EXPECT_EQ(out.x_amz_security_token, "");
    EXPECT_EQ(out.authorization.find("x-amz-security-token"), std::string::npos);
}

// The cached signing key must follow every change of secret and date.
TEST(sigv4_signer, signing_key_cache_follows_secret_and_date) {
    dynamodb_request r;
    const auto a = long_term("AKID", "secret-a");
    const auto b = long_term("AKID", "secret-b");
    const auto day_two = day_one + std::chrono::seconds{1};  // 2024-03-01T00:00:00Z
    sigv4::signer signer("eu-west-1", "dynamodb");
    sigv4::auth_headers out;
    const struct {
        const dynalock::credentials& creds;
        system_clock::time_point time;
    } sequence[] = {{a, day_one}, {a, day_one}, {b, day_one}, {a, day_one},
                    {a, day_two}, {b, day_two}, {a, day_one}};
    for (const auto& step : sequence) {
        ASSERT_FALSE(signer.sign(r.view(), step.creds, step.time, out));
        EXPECT_EQ(out.authorization, authorization(r.view(), step.creds, step.time));
    }
    EXPECT_NE(authorization(r.view(), a, day_one), authorization(r.view(), b, day_one));
    EXPECT_NE(authorization(r.view(), a, day_one), authorization(r.view(), a, day_two));
}

// The headers' names are checked, lowercased and sorted once while they stay
// the same: every change of names, their order, the token or the values
// must still sign as a fresh signer does, also after a request refused.
TEST(sigv4_signer, remembered_header_names_follow_every_change) {
    using headers = std::vector<sigv4::header>;
    const headers usual = dynamodb_request{}.headers;
    headers other_values = usual;
    other_values[0].value = "127.0.0.1:8000";
    other_values[2].value = "DynamoDB_20120810.UpdateItem";
    headers reordered = {usual[2], usual[0], usual[1]};
    headers with_unsigned = usual;
    with_unsigned.insert(with_unsigned.begin() + 1, {"User-Agent", "dynalock"});
    headers repeated = usual;
    repeated.push_back({"x-amz-target", "  second   value "});
    headers same_length_name = usual;
    same_length_name[1].name = "Content-Typf";
    headers no_host = {usual[1], usual[2]};
    const dynalock::credentials plain = long_term("AKID", "secret");
    dynalock::credentials with_token = plain;
    with_token.session_token = "token";
    const struct {
        const headers& h;
        const dynalock::credentials& creds;
    } sequence[] = {
        {usual, plain},
        {usual, plain},
        {other_values, plain},
        {usual, with_token},
        {usual, with_token},
        {usual, plain},
        {reordered, plain},
        {usual, plain},
        {with_unsigned, plain},
        {with_unsigned, plain},
        {repeated, plain},
        {usual, plain},
        {same_length_name, plain},
        {usual, plain},
        {no_host, plain},
        {usual, plain},
        {other_values, with_token},
    };
    sigv4::signer signer("eu-west-1", "dynamodb");
    const std::string body = "{}";
    for (std::size_t i = 0; i < std::size(sequence); ++i) {
        const auto& step = sequence[i];
        const sigv4::request req{"POST", "/", "", step.h, body};
        sigv4::auth_headers out;
        const error_code ec = signer.sign(req, step.creds, day_one, out);
        sigv4::signer fresh("eu-west-1", "dynamodb");
        sigv4::auth_headers expected;
        EXPECT_EQ(ec, fresh.sign(req, step.creds, day_one, expected)) << i;
        if (!ec) {
            EXPECT_EQ(out.authorization, expected.authorization) << i;
        }
    }
}

TEST(sigv4_signer, rejects_requests_it_cannot_sign) {
    const auto creds = long_term("AKID", "secret");
    sigv4::signer signer("eu-west-1", "dynamodb");
    sigv4::auth_headers out;
    const auto sign_with_header = [&](sigv4::header extra) {
        dynamodb_request r;
        r.headers.push_back(extra);
        return signer.sign(r.view(), creds, day_one, out);
    };
    EXPECT_EQ(sign_with_header({"X-Amz-Date", "20240229T235959Z"}), errc::invalid_argument);
    EXPECT_EQ(sign_with_header({"x-amz-security-token", "t"}), errc::invalid_argument);
    EXPECT_EQ(sign_with_header({"Authorization", "x"}), errc::invalid_argument);
    EXPECT_EQ(sign_with_header({"", "x"}), errc::invalid_argument);
    EXPECT_EQ(sign_with_header({"Bad Name", "x"}), errc::invalid_argument);
    EXPECT_EQ(sign_with_header({"a:b", "x"}), errc::invalid_argument);
    EXPECT_EQ(sign_with_header({"x-\n", "x"}), errc::invalid_argument);

    dynamodb_request no_host;
    no_host.headers.erase(no_host.headers.begin());
    EXPECT_EQ(signer.sign(no_host.view(), creds, day_one, out), errc::invalid_argument);

    dynamodb_request relative;
    relative.path = "relative/path";
    EXPECT_EQ(signer.sign(relative.view(), creds, day_one, out), errc::invalid_argument);

    dynamodb_request r;
    EXPECT_EQ(signer.sign(r.view(), long_term("", "secret"), day_one, out),
              errc::credentials_unavailable);
    EXPECT_EQ(signer.sign(r.view(), long_term("AKID", ""), day_one, out),
              errc::credentials_unavailable);

    // A failure leaves the signer usable.
    EXPECT_FALSE(signer.sign(r.view(), creds, day_one, out));
    EXPECT_EQ(out.authorization, authorization(r.view(), creds, day_one));
}

TEST(sigv4_canonical, header_values_trimmed_and_collapsed_names_merged) {
    dynamodb_request r;
    r.headers.push_back({"X-Odd", "\t a \t b \r\n  c  "});
    r.headers.push_back({"x-ODD", "second"});
    r.headers.push_back({"X-Empty", " \t "});
    r.headers.push_back({"User-Agent", "proxies rewrite me"});
    r.headers.push_back({"Connection", "keep-alive"});
    sigv4::signer signer("eu-west-1", "dynamodb");
    const auto lines = canonical_lines(signer, r.view());
    ASSERT_EQ(lines.size(), 12u);
    EXPECT_EQ(lines[3], "content-type:application/x-amz-json-1.0");
    EXPECT_EQ(lines[4], "host:dynamodb.eu-west-1.amazonaws.com");
    EXPECT_EQ(lines[5], "x-amz-date:20240229T235959Z");
    EXPECT_EQ(lines[6], "x-amz-target:DynamoDB_20120810.GetItem");
    EXPECT_EQ(lines[7], "x-empty:");
    EXPECT_EQ(lines[8], "x-odd:a b c,second");
    EXPECT_EQ(lines[10], "content-type;host;x-amz-date;x-amz-target;x-empty;x-odd");
}

// Beyond the insertion-sort size, repeated names must still keep their order.
TEST(sigv4_canonical, many_headers_sorted_stably) {
    dynamodb_request r;
    std::vector<std::string> names;  // the headers are views of these
    std::vector<std::string> values;
    names.reserve(40);
    values.reserve(40);
    for (int i = 39; i >= 0; --i) {
        names.push_back(i % 2 == 0 ? "X-Even" : "X-Odd-" + std::string(1, char('a' + i % 7)));
        values.push_back(std::to_string(i));
        r.headers.push_back({names.back(), values.back()});
    }
    sigv4::signer signer("eu-west-1", "dynamodb");
    const auto lines = canonical_lines(signer, r.view());
    EXPECT_EQ(lines[7], "x-even:38,36,34,32,30,28,26,24,22,20,18,16,14,12,10,8,6,4,2,0");
    EXPECT_EQ(lines[8], "x-odd-a:35,21,7");
}

TEST(sigv4_canonical, path_encoded_again_and_normalized) {
    dynamodb_request r;
    sigv4::signer normalizing("eu-west-1", "dynamodb");
    sigv4::signer verbatim("eu-west-1", "dynamodb", {.normalize_path = false});

    r.path = "/a%20b/./c//../d~e/";
    EXPECT_EQ(canonical_lines(normalizing, r.view())[1], "/a%2520b/d~e/");
    EXPECT_EQ(canonical_lines(verbatim, r.view())[1], "/a%2520b/./c//../d~e/");

    r.path = "";
    EXPECT_EQ(canonical_lines(normalizing, r.view())[1], "/");
    r.path = "/../..";
    EXPECT_EQ(canonical_lines(normalizing, r.view())[1], "/");
}

TEST(sigv4_canonical, query_decoded_reencoded_and_sorted) {
    dynamodb_request r;
    sigv4::signer signer("eu-west-1", "dynamodb");
    r.query = "b=2&a=1&a=&c&&%e1%88%b4=x";
    EXPECT_EQ(canonical_lines(signer, r.view())[2], "%E1%88%B4=x&a=&a=1&b=2&c=");
    r.query = "%zz=a+b&sp ace=%2F%";
    EXPECT_EQ(canonical_lines(signer, r.view())[2], "%25zz=a%2Bb&sp%20ace=%2F%25");
}

TEST(sigv4_canonical, payload_hash_of_exact_bytes) {
    dynamodb_request r;
    sigv4::signer signer("eu-west-1", "dynamodb");
    r.body.clear();
    EXPECT_EQ(canonical_lines(signer, r.view()).back(),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    r.body = std::string("a\0b", 3);
    EXPECT_EQ(canonical_lines(signer, r.view()).back(),
              "59b271ae1bbcb1d31d41929817f4b16fb439eb4f31520b5ad1d5ce98920a7138");
}

}  // namespace
