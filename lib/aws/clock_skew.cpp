#include "aws/clock_skew.hpp"

#include <array>

namespace dynalock::aws {
namespace {

constexpr std::array<std::string_view, 7> day_names{"Mon", "Tue", "Wed", "Thu",
                                                    "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

template <std::size_t N>
std::optional<unsigned> index_of(const std::array<std::string_view, N>& names,
                                 std::string_view name) {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == name) {
            return static_cast<unsigned>(i);
        }
    }
    return std::nullopt;
}

// All of `s` as a decimal number.
std::optional<unsigned> parse_digits(std::string_view s) {
    unsigned value = 0;
    for (char c : s) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
        value = value * 10 + static_cast<unsigned>(c - '0');
    }
    return value;
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text) {
    using namespace std::chrono;
    // "Sun, 06 Nov 1994 08:49:37 GMT": every field has a fixed position.
    constexpr std::string_view shape = "ddd, DD MMM YYYY hh:mm:ss GMT";
    if (text.size() != shape.size()) {
        return std::nullopt;
    }
    for (std::size_t i : {3u, 4u, 7u, 11u, 16u, 19u, 22u, 25u}) {
        if (text[i] != shape[i]) {
            return std::nullopt;
        }
    }
    if (text.substr(26) != "GMT" || !index_of(day_names, text.substr(0, 3))) {
        return std::nullopt;
    }
    auto day_number = parse_digits(text.substr(5, 2));
    auto month_number = index_of(month_names, text.substr(8, 3));
    auto year_number = parse_digits(text.substr(12, 4));
    auto hour = parse_digits(text.substr(17, 2));
    auto minute = parse_digits(text.substr(20, 2));
    auto second = parse_digits(text.substr(23, 2));
    if (!day_number || !month_number || !year_number || !hour || !minute || !second || *hour > 23 ||
        *minute > 59 || *second > 60) {
        return std::nullopt;
    }
    // system_clock counts nanoseconds in 64 bits: it ends in 2262.
    if (*year_number < 1900 || *year_number > 2200) {
        return std::nullopt;
    }
    year_month_day date{year{static_cast<int>(*year_number)}, month{*month_number + 1},
                        day{*day_number}};
    if (!date.ok()) {
        return std::nullopt;
    }
    return sys_days{date} + hours{*hour} + minutes{*minute} + seconds{*second};
}

bool is_clock_skew_error(std::string_view aws_type, std::string_view message) {
    if (aws_type == "RequestTimeTooSkewed" || aws_type == "RequestExpired" ||
        aws_type == "RequestInTheFuture") {
        return true;
    }
    if (aws_type == "InvalidSignatureException" || aws_type == "SignatureDoesNotMatch" ||
        aws_type == "AuthFailure") {
        return message.find("Signature expired") != std::string_view::npos ||
               message.find("Signature not yet current") != std::string_view::npos;
    }
    return false;
}

bool clock_skew::on_clock_skew_error(std::string_view date_header,
                                     std::chrono::system_clock::time_point local_now) noexcept {
    std::optional<std::chrono::system_clock::time_point> server_now = parse_http_date(date_header);
    if (!server_now) {
        return false;
    }
    auto offset = std::chrono::duration_cast<std::chrono::milliseconds>(*server_now - local_now);
    offset_ms_.store(offset.count(), std::memory_order_relaxed);
    return true;
}

}  // namespace dynalock::aws
