#include "aws/credentials_json.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace dynalock::aws {
namespace {

// Reads exactly `width` digits at `pos`.
std::optional<int> digits(std::string_view text, std::size_t pos, std::size_t width) {
    if (pos + width > text.size()) {
        return std::nullopt;
    }
    int value = 0;
    for (std::size_t i = pos; i < pos + width; ++i) {
        if (text[i] < '0' || text[i] > '9') {
            return std::nullopt;
        }
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

error_code malformed(std::string_view source, std::string problem, diagnostics& diag) {
    diag.message = std::string(source) + ": " + std::move(problem);
    return errc::malformed_response;
}

// A required (or, if `required` is false, optional) string member.
error_code string_field(const nlohmann::json& doc, const char* name, bool required,
                        std::string_view source, std::string& out, diagnostics& diag) {
    auto it = doc.find(name);
    if (it == doc.end() || it->is_null()) {
        return required ? malformed(source, std::string("no ") + name, diag) : error_code{};
    }
    if (!it->is_string() || (required && it->get_ref<const std::string&>().empty())) {
        return malformed(source, std::string(name) + " is not a non-empty string", diag);
    }
    out = it->get<std::string>();
    return {};
}

}  // namespace

bool parse_iso8601(std::string_view text, std::chrono::system_clock::time_point& out) {
    using namespace std::chrono;
    auto year = digits(text, 0, 4);
    auto month = digits(text, 5, 2);
    auto day = digits(text, 8, 2);
    auto hour = digits(text, 11, 2);
    auto minute = digits(text, 14, 2);
    auto second = digits(text, 17, 2);
    if (!year || !month || !day || !hour || !minute || !second || text[4] != '-' ||
        text[7] != '-' || (text[10] != 'T' && text[10] != 't') || text[13] != ':' ||
        text[16] != ':' || *hour > 23 || *minute > 59 || *second > 60) {
        return false;
    }
    year_month_day date{std::chrono::year{*year}, std::chrono::month{static_cast<unsigned>(*month)},
                        std::chrono::day{static_cast<unsigned>(*day)}};
    if (!date.ok()) {
        return false;
    }
    std::size_t pos = 19;
    nanoseconds fraction{0};
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        long long scale = 100'000'000;
        std::size_t start = pos;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            fraction += nanoseconds{(text[pos] - '0') * scale};
            scale /= 10;
            ++pos;
        }
        if (pos == start) {
            return false;
        }
    }
    minutes offset{0};
    std::string_view zone = text.substr(pos);
    if (zone == "Z" || zone == "z") {
        offset = minutes{0};
    } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
        auto zone_hours = digits(zone, 1, 2);
        auto zone_minutes = digits(zone, 4, 2);
        if (!zone_hours || !zone_minutes || *zone_hours > 23 || *zone_minutes > 59) {
            return false;
        }
        offset = hours{*zone_hours} + minutes{*zone_minutes};
        if (zone[0] == '-') {
            offset = -offset;
        }
    } else {
        return false;
    }
    sys_seconds whole =
        sys_days{date} + hours{*hour} + minutes{*minute} + seconds{*second} - offset;
    // The clock's range is 1677 to 2262; later instants (a "never expires" of
    // 2999) are as good as its end, earlier ones as good as its start (long
    // expired), and converting either would overflow.
    constexpr sys_seconds clock_end = floor<seconds>(system_clock::time_point::max()) - seconds{1};
    constexpr sys_seconds clock_start = ceil<seconds>(system_clock::time_point::min()) + seconds{1};
    if (whole >= clock_end) {
        out = system_clock::time_point::max();
    } else if (whole <= clock_start) {
        out = system_clock::time_point::min();
    } else {
        out = time_point_cast<system_clock::duration>(whole + fraction);
    }
    return true;
}

error_code parse_credentials_json(std::string_view body, credentials_json_dialect dialect,
                                  std::string_view source,
                                  std::chrono::system_clock::time_point now, credentials& out,
                                  diagnostics& diag) {
    nlohmann::json doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
        return malformed(source, "the output is not a JSON object", diag);
    }
    const bool process = dialect == credentials_json_dialect::credential_process;
    if (process) {
        auto version = doc.find("Version");
        if (version == doc.end() || !version->is_number_integer() || *version != 1) {
            return malformed(source, "Version is not 1 (the only version supported)", diag);
        }
    } else if (auto code = doc.find("Code"); code != doc.end() && *code != "Success") {
        return malformed(source, "Code is not \"Success\"", diag);
    }
    credentials result;
    std::string expiration;
    if (error_code ec =
            string_field(doc, "AccessKeyId", true, source, result.access_key_id, diag)) {
        return ec;
    }
    if (error_code ec =
            string_field(doc, "SecretAccessKey", true, source, result.secret_access_key, diag)) {
        return ec;
    }
    if (error_code ec = string_field(doc, process ? "SessionToken" : "Token", !process, source,
                                     result.session_token, diag)) {
        return ec;
    }
    if (error_code ec = string_field(doc, "Expiration", !process, source, expiration, diag)) {
        return ec;
    }
    if (!expiration.empty()) {
        std::chrono::system_clock::time_point expires;
        if (!parse_iso8601(expiration, expires)) {
            return malformed(source, "Expiration is not an ISO 8601 time", diag);
        }
        if (expires <= now) {
            diag.message = std::string(source) + ": the credentials expired at " + expiration;
            return errc::credentials_expired;
        }
        result.expiration = expires;
    }
    out = std::move(result);
    return {};
}

}  // namespace dynalock::aws
