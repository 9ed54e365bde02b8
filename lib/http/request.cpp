#include <http/request.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <string_view>

namespace dynalock::http {
namespace {

// RFC 9110 token characters, the only ones allowed in a field name.
bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    constexpr std::string_view others = "!#$%&'*+-.^_`|~";
    return others.find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char);
}

bool is_safe_text(std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
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
    if (req.target.empty() || !is_safe_text(req.target) ||
        req.target.find(' ') != std::string::npos) {
        return errc::invalid_argument;
    }
    out.clear();
    out.append("POST ").append(req.target).append(" HTTP/1.1\r\n");
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
