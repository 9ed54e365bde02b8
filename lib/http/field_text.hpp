#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <string_view>

// What HTTP allows in field names and how names compare, shared by the request
// writer, the response parser and the response's field lookup.
namespace dynalock::http::field_text {

inline constexpr std::array<bool, 256> token_chars = [] {
    std::array<bool, 256> chars{};
    for (int c = '0'; c <= '9'; ++c) {
        chars[static_cast<std::size_t>(c)] = true;
    }
    for (int c = 'a'; c <= 'z'; ++c) {
        chars[static_cast<std::size_t>(c)] = true;
        chars[static_cast<std::size_t>(c - 'a' + 'A')] = true;
    }
    for (const char c : std::string_view("!#$%&'*+-.^_`|~")) {
        chars[static_cast<unsigned char>(c)] = true;
    }
    return chars;
}();

/// An RFC 9110 token character, the only kind a field name may hold.
inline bool is_token_char(char c) noexcept {
    return token_chars[static_cast<unsigned char>(c)];
}

inline bool is_token(std::string_view s) noexcept {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_token_char);
}

inline char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Field names and their tokens compare without ASCII case.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
    return std::equal(a.begin(), a.end(), b.begin(), b.end(),
                      [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

}  // namespace dynalock::http::field_text
