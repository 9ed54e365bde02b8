// An arbitrary request head — "METHOD /path?query" on the first line, then
// "name: value" lines, as a caller might hand them to the signer — signed with
// SigV4. Any set of names and values (repeated, mixed case, odd whitespace,
// bytes HTTP forbids) is either signed or refused with invalid_argument; the
// canonical request, string to sign and signature always agree.
#include "fuzz_check.hpp"

#include "sigv4/signer.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace dynalock;
using dynalock::fuzz::require;

std::string_view next_line(std::string_view& text) {
    const auto end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    if (line.ends_with('\r')) {
        line.remove_suffix(1);
    }
    return line;
}

// "POST /a/b?x=1" or "POST /a/b?x=1 HTTP/1.1".
void parse_request_line(std::string_view line, sigv4::request& req) {
    const auto space = line.find(' ');
    req.method = line.substr(0, space);
    std::string_view target = space == std::string_view::npos ? "" : line.substr(space + 1);
    if (const auto version = target.rfind(" HTTP/"); version != std::string_view::npos) {
        target = target.substr(0, version);
    }
    const auto question = target.find('?');
    req.path = target.substr(0, question);
    req.query = question == std::string_view::npos ? "" : target.substr(question + 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    sigv4::request req;
    parse_request_line(next_line(text), req);
    std::vector<sigv4::header> headers;
    while (!text.empty()) {
        const std::string_view line = next_line(text);
        if (line.empty()) {
            break;  // the rest is the payload, as in HTTP
        }
        const auto colon = line.find(':');
        headers.push_back(
            {line.substr(0, colon), colon == std::string_view::npos ? "" : line.substr(colon + 1)});
    }
    req.headers = headers;
    req.payload = text;

    static sigv4::signer signer("us-east-1", "dynamodb");
    const credentials creds{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token"};
    const auto time = std::chrono::system_clock::time_point(std::chrono::seconds(1795770000));

    std::string canonical;
    const error_code canonical_ec = signer.canonical_request(req, creds, time, canonical);
    require(!canonical_ec || canonical_ec == errc::invalid_argument,
            "a request the signer cannot sign is refused with invalid_argument");
    std::string to_sign;
    require(signer.string_to_sign(req, creds, time, to_sign) == canonical_ec,
            "string_to_sign fails exactly when canonical_request does");
    sigv4::auth_headers auth;
    require(signer.sign(req, creds, time, auth) == canonical_ec,
            "sign fails exactly when canonical_request does");
    if (!canonical_ec) {
        require(auth.authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"),
                "the Authorization header has its fixed prefix");
        require(auth.x_amz_security_token == "token", "the session token is sent");
    }
    return 0;
}
