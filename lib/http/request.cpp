#include <http/request.hpp>

#include "byte_scan.hpp"
#include "field_text.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dynalock::http {
namespace {

using field_text::iequals;
using field_text::is_token;

// CR, LF and NUL, which would end or corrupt the header block, looked up once
// per byte since every header of every request passes through here.
constexpr std::array<bool, 256> unsafe_chars = [] {
    std::array<bool, 256> chars{};
    chars['\r'] = chars['\n'] = chars['\0'] = true;
    return chars;
}();

// Eight bytes at a time: the values (the signature's above all) are hundreds
// of bytes per request. No byte below 0x0e, the usual case, clears a word in
// one test (a tab is allowed, so a word holding one is a false alarm).
bool is_safe_text(std::string_view s) {
    const char* const end = s.data() + s.size();
    return detail::find_byte(
               s.data(), end, [](std::uint64_t w) { return detail::has_byte_below(w, '\r' + 1); },
               [](unsigned char c) { return unsafe_chars[c]; }) == end;
}

bool is_reserved_for_pool(std::string_view name) {
    return iequals(name, "content-length") || iequals(name, "transfer-encoding") ||
           iequals(name, "connection");
}

}  // namespace

error_code serialize_head(const request& req, std::string& out) {
    if (!is_token(req.method) || req.target.empty() || !is_safe_text(req.target) ||
        req.target.find(' ') != std::string::npos) {
        return errc::invalid_argument;
    }
    out.clear();
    out.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\n");
    for (const auto& [name, value] : req.headers) {
        if (!is_token(name) || !is_safe_text(value) || is_reserved_for_pool(name)) {
            return errc::invalid_argument;
        }
        out.append(name).append(": ").append(value).append("\r\n");
    }
    std::array<char, 24> digits{};
    const auto length =
        std::to_chars(digits.data(), digits.data() + digits.size(), req.body.size());
    out.append("Content-Length: ").append(digits.data(), length.ptr).append("\r\n\r\n");
    return {};
}

}  // namespace dynalock::http
