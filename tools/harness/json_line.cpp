#include "json_line.hpp"

#include <cmath>
#include <cstdio>

namespace dynalock::harness {
namespace {

void append_string(std::string& out, std::string_view s) {
    out += '"';
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\u%04x", static_cast<unsigned>(c));
            out += escaped;
        } else {
            out += c;
        }
    }
    out += '"';
}

}  // namespace

void json_line::key(std::string_view k) {
    text_ += text_.empty() ? '{' : ',';
    append_string(text_, k);
    text_ += ':';
}

json_line& json_line::add(std::string_view k, std::string_view value) {
    key(k);
    append_string(text_, value);
    return *this;
}

json_line& json_line::add(std::string_view k, std::int64_t value) {
    key(k);
    text_ += std::to_string(value);
    return *this;
}

json_line& json_line::add(std::string_view k, std::uint64_t value) {
    key(k);
    text_ += std::to_string(value);
    return *this;
}

json_line& json_line::add(std::string_view k, double value) {
    key(k);
    if (!std::isfinite(value)) {
        text_ += "null";
        return *this;
    }
    char number[32];
    std::snprintf(number, sizeof number, "%.6g", value);
    text_ += number;
    return *this;
}

void json_line::print() const {
    std::printf("%s}\n", text_.empty() ? "{" : text_.c_str());
    std::fflush(stdout);
}

}  // namespace dynalock::harness
