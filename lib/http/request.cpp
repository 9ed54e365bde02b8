#include <http/request.hpp>

#include "byte_scan.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dynalock::http {
namespace {

// What each byte may be, looked up once per byte since every header of every
// request passes through here.
enum char_class : unsigned char {
    token_char = 1,   // RFC 9110 token characters, the only ones allowed in a field name
    unsafe_char = 2,  // CR, LF and NUL, which would end or corrupt the header block
};

constexpr std::array<unsigned char, 256> char_classes = [] {
    std::array<unsigned char, 256> classes{};
    for (int c = '0'; c <= '9'; ++c) {
        classes[static_cast<std::size_t>(c)] = token_char;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        classes[static_cast<std::size_t>(c)] = token_char;
        classes[static_cast<std::size_t>(c - 'a' + 'A')] = token_char;
    }
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) {
        classes[static_cast<unsigned char>(c)] = token_char;
    }
    classes['\r'] = classes['\n'] = classes['\0'] = unsafe_char;
    return classes;
}();

bool has_class(char c, char_class wanted) {
    return (char_classes[static_cast<unsigned char>(c)] & wanted) != 0;
}

bool is_token(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return has_class(c, token_char); });
}

// Eight bytes at a time: the values (the signature's above all) are hundreds
// of bytes per request. No byte below 0x0e, the usual case, clears a word in
// one test (a tab is allowed, so a word holding one is a false alarm).
bool is_safe_text(std::string_view s) {
    const char* const end = s.data() + s.size();
    return detail::find_byte(
               s.data(), end, [](std::uint64_t w) { return detail::has_byte_below(w, '\r' + 1); },
               [](unsigned char c) { return has_class(static_cast<char>(c), unsafe_char); }) == end;
}

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
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
