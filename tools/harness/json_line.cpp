#include "json_line.hpp"

#include "support/json_string.hpp"

#include <cmath>
#include <cstdio>

namespace dynalock::harness {

void json_line::key(std::string_view k) {
    text_ += text_.empty() ? '{' : ',';
    text_ += examples::json_string(k);
    text_ += ':';
}

json_line& json_line::add(std::string_view k, std::string_view value) {
    key(k);
    text_ += examples::json_string(value);
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
