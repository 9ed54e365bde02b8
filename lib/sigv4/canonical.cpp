#include "sigv4/canonical.hpp"

#include "byte_scan.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>

namespace dynalock::sigv4::detail {

namespace {

bool is_unreserved(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

// Character classes by table: the header scan touches every byte of a long session
// token, so it is the hottest loop of the signer.
enum char_class : unsigned char { other = 0, token_char = 1, header_space = 2 };

constexpr std::array<unsigned char, 256> char_classes = [] {
    std::array<unsigned char, 256> classes{};
    // RFC 9110 token characters, the only ones allowed in a header name.
    for (unsigned char c : std::string_view(
             "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")) {
        classes[c] = token_char;
    }
    // The whitespace botocore's `' '.join(value.split())` removes, restricted to ASCII:
    // also CR and LF, so obsolete folded header lines canonicalize.
    for (unsigned char c : std::string_view(" \t\r\n\v\f")) {
        classes[c] = header_space;
    }
    return classes;
}();

bool is_token_char(char c) {
    return char_classes[static_cast<unsigned char>(c)] == token_char;
}

bool is_header_space(char c) {
    return char_classes[static_cast<unsigned char>(c)] == header_space;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

// Decodes %XX escapes; a '%' not followed by two hex digits stays a literal '%'.
void assign_percent_decoded(std::string& out, std::string_view text) {
    out.clear();
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            const int high = hex_value(text[i + 1]);
            const int low = hex_value(text[i + 2]);
            if (high >= 0 && low >= 0) {
                out.push_back(static_cast<char>(high * 16 + low));
                i += 2;
                continue;
            }
        }
        out.push_back(text[i]);
    }
}

void assign_uri_encoded(std::string& out, std::string_view text) {
    out.clear();
    append_uri_encoded(out, text, false);
}

// No header space in `value`, looked at eight bytes at a time: the usual
// case, which trimming and collapsing leave as it is. A word with another
// control byte below 0x0e is a false alarm.
bool has_no_header_space(std::string_view value) {
    const char* const end = value.data() + value.size();
    return dynalock::detail::find_byte(
               value.data(), end,
               [](std::uint64_t w) {
                   return dynalock::detail::has_byte_below(w, '\r' + 1) ||
                          dynalock::detail::has_byte(w, ' ');
               },
               [](unsigned char c) { return is_header_space(static_cast<char>(c)); }) == end;
}

// Copies whole words at a time: a session token is a single word of hundreds of bytes.
void append_trimmed_collapsed(std::string& out, std::string_view value) {
    if (has_no_header_space(value)) {
        out.append(value);
        return;
    }
    const std::size_t size = value.size();
    std::size_t pos = 0;
    bool first_word = true;
    for (;;) {
        while (pos < size && is_header_space(value[pos])) {
            ++pos;
        }
        if (pos == size) {
            return;
        }
        std::size_t word_end = pos;
        while (word_end < size && !is_header_space(value[word_end])) {
            ++word_end;
        }
        if (!first_word) {
            out.push_back(' ');
        }
        out.append(value.substr(pos, word_end - pos));
        first_word = false;
        pos = word_end;
    }
}

// Header names the signer writes itself; a caller-supplied copy would be signed twice.
bool is_signer_owned(std::string_view lowercase_name) {
    return lowercase_name == "x-amz-date" || lowercase_name == "x-amz-security-token" ||
           lowercase_name == "authorization";
}

// Headers a proxy may add, drop or rewrite: signing them would make a valid request
// fail verification. The same list as botocore's SIGNED_HEADERS_BLACKLIST.
bool is_left_unsigned(std::string_view lowercase_name) {
    static constexpr std::string_view unsigned_names[] = {
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    };
    return std::find(std::begin(unsigned_names), std::end(unsigned_names), lowercase_name) !=
           std::end(unsigned_names);
}

}  // namespace

void append_uri_encoded(std::string& out, std::string_view text, bool keep_slash) {
    static constexpr char digits[] = "0123456789ABCDEF";
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 0x0f]);
        }
    }
}

error_code append_canonical_uri(std::string& out, std::string_view path, bool normalize,
                                std::string& scratch) {
    if (path.empty()) {
        out.push_back('/');
        return {};
    }
    if (path.front() != '/') {
        return errc::invalid_argument;
    }
    if (!normalize) {
        append_uri_encoded(out, path, true);
        return {};
    }
    scratch.clear();
    std::size_t pos = 0;
    while (pos < path.size()) {
        std::size_t end = path.find('/', pos);
        if (end == std::string_view::npos) {
            end = path.size();
        }
        const std::string_view segment = path.substr(pos, end - pos);
        if (segment == "..") {
            scratch.erase(std::min(scratch.size(), scratch.rfind('/')));
        } else if (!segment.empty() && segment != ".") {
            scratch.push_back('/');
            scratch.append(segment);
        }
        pos = end + 1;
    }
    if (scratch.empty() || path.back() == '/') {
        scratch.push_back('/');
    }
    append_uri_encoded(out, scratch, true);
    return {};
}

void append_canonical_query(std::string& out, std::string_view query,
                            std::vector<std::pair<std::string, std::string>>& scratch) {
    scratch.clear();
    if (query.empty()) {
        return;
    }
    std::string decoded;
    std::size_t pos = 0;
    while (pos <= query.size()) {
        std::size_t end = query.find('&', pos);
        if (end == std::string_view::npos) {
            end = query.size();
        }
        const std::string_view parameter = query.substr(pos, end - pos);
        if (!parameter.empty()) {
            const std::size_t equals = parameter.find('=');
            auto& [name, value] = scratch.emplace_back();
            assign_percent_decoded(decoded, parameter.substr(0, equals));
            assign_uri_encoded(name, decoded);
            if (equals != std::string_view::npos) {
                assign_percent_decoded(decoded, parameter.substr(equals + 1));
                assign_uri_encoded(value, decoded);
            }
        }
        pos = end + 1;
    }
    std::sort(scratch.begin(), scratch.end());
    for (std::size_t i = 0; i < scratch.size(); ++i) {
        if (i != 0) {
            out.push_back('&');
        }
        out.append(scratch[i].first);
        out.push_back('=');
        out.append(scratch[i].second);
    }
}

error_code canonical_headers::assign(std::span<const header> headers, std::string_view amz_date,
                                     std::string_view session_token) {
    const bool has_token = !session_token.empty();
    const auto sources = static_cast<std::uint32_t>(headers.size());
    if (same_names(headers, has_token)) {
        for (std::uint32_t i = 0; i < sources; ++i) {
            if (entry_of_[i] >= 0) {
                entries_[static_cast<std::size_t>(entry_of_[i])].value = headers[i].value;
            }
        }
        entries_[static_cast<std::size_t>(entry_of_[sources])].value = amz_date;
        if (has_token) {
            entries_[static_cast<std::size_t>(entry_of_[sources + 1])].value = session_token;
        }
        return {};
    }
    remembered_ = false;
    lowercase_names_.clear();
    entries_.clear();
    bool has_host = false;
    for (std::uint32_t i = 0; i < sources; ++i) {
        const header& h = headers[i];
        if (h.name.empty() ||
            !std::all_of(h.name.begin(), h.name.end(), [](char c) { return is_token_char(c); })) {
            return errc::invalid_argument;
        }
        add(h.name, h.value, i);
        const std::string_view name = name_of(entries_.back());
        if (is_signer_owned(name)) {
            return errc::invalid_argument;
        }
        if (is_left_unsigned(name)) {
            lowercase_names_.resize(entries_.back().name_offset);
            entries_.pop_back();
            continue;
        }
        has_host = has_host || name == "host";
    }
    if (!has_host) {
        return errc::invalid_argument;
    }
    add("x-amz-date", amz_date, sources);
    if (has_token) {
        add("x-amz-security-token", session_token, sources + 1);
    }
    sort_by_name();
    signed_headers_.clear();
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const std::string_view name = name_of(entries_[i]);
        if (i != 0 && name == name_of(entries_[i - 1])) {
            continue;
        }
        if (i != 0) {
            signed_headers_.push_back(';');
        }
        signed_headers_.append(name);
    }
    remember_names(headers, has_token);
    return {};
}

bool canonical_headers::same_names(std::span<const header> headers, bool has_token) const noexcept {
    if (!remembered_ || has_token != had_token_ || headers.size() != given_ends_.size()) {
        return false;
    }
    std::size_t begin = 0;
    for (std::size_t i = 0; i < headers.size(); ++i) {
        const std::string_view given =
            std::string_view(given_names_).substr(begin, given_ends_[i] - begin);
        if (headers[i].name != given) {
            return false;
        }
        begin = given_ends_[i];
    }
    return true;
}

void canonical_headers::remember_names(std::span<const header> headers, bool has_token) {
    given_names_.clear();
    given_ends_.clear();
    for (const header& h : headers) {
        given_names_.append(h.name);
        given_ends_.push_back(static_cast<std::uint32_t>(given_names_.size()));
    }
    entry_of_.assign(headers.size() + 2, -1);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        entry_of_[entries_[i].source] = static_cast<std::int32_t>(i);
    }
    had_token_ = has_token;
    remembered_ = true;
}

void canonical_headers::add(std::string_view name, std::string_view value, std::uint32_t source) {
    const auto offset = static_cast<std::uint32_t>(lowercase_names_.size());
    lowercase_names_.resize(offset + name.size());
    std::transform(name.begin(), name.end(), lowercase_names_.begin() + offset, [](char c) {
        return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    });
    entries_.push_back({offset, static_cast<std::uint32_t>(name.size()), source, value});
}

void canonical_headers::sort_by_name() {
    const auto by_name = [this](const entry& a, const entry& b) { return name_of(a) < name_of(b); };
    // Requests carry a handful of headers: an insertion sort is stable (repeated names
    // keep their order) and, unlike std::stable_sort, needs no temporary buffer.
    constexpr std::size_t insertion_sort_limit = 32;
    if (entries_.size() > insertion_sort_limit) {
        std::stable_sort(entries_.begin(), entries_.end(), by_name);
        return;
    }
    for (std::size_t i = 1; i < entries_.size(); ++i) {
        const entry moving = entries_[i];
        std::size_t j = i;
        for (; j > 0 && by_name(moving, entries_[j - 1]); --j) {
            entries_[j] = entries_[j - 1];
        }
        entries_[j] = moving;
    }
}

void canonical_headers::append_canonical(std::string& out) const {
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const std::string_view name = name_of(entries_[i]);
        const bool continues_previous = i != 0 && name == name_of(entries_[i - 1]);
        if (continues_previous) {
            out.back() = ',';  // replaces the previous line's '\n'
        } else {
            out.append(name);
            out.push_back(':');
        }
        append_trimmed_collapsed(out, entries_[i].value);
        out.push_back('\n');
    }
}

}  // namespace dynalock::sigv4::detail
