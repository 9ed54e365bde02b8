#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace dynalock::aws {

/// Parses an HTTP date in IMF-fixdate form, `Sun, 06 Nov 1994 08:49:37 GMT`
/// (RFC 9110 §5.6.7), the form AWS sends. Anything else is nullopt.
std::optional<std::chrono::system_clock::time_point> parse_http_date(std::string_view text);

/// True when an error response means the server rejected our signing time,
/// not our key: `RequestTimeTooSkewed`, `RequestExpired`,
/// `RequestInTheFuture`, or a signature error (`InvalidSignatureException`,
/// `SignatureDoesNotMatch`, `AuthFailure`) whose message says the signature
/// expired or is not yet current, as DynamoDB words it. `aws_type` is the
/// `__type` with any `namespace#` prefix removed.
bool is_clock_skew_error(std::string_view aws_type, std::string_view message);

/// The offset between the server's clock and ours, learnt from a rejected
/// request's `Date` header, applied to the signing time of later requests.
/// Thread-safe: the offset is one atomic.
class clock_skew {
public:
    /// The time to sign with.
    std::chrono::system_clock::time_point corrected_now(
        std::chrono::system_clock::time_point local_now) const noexcept {
        return local_now + offset();
    }

    /// Call when the server rejected the signing time (see
    /// `is_clock_skew_error`), with the response's `Date` header and the local
    /// time it arrived. Returns false, keeping the old offset, when the header
    /// is missing or malformed.
    bool on_clock_skew_error(std::string_view date_header,
                             std::chrono::system_clock::time_point local_now) noexcept;

    /// server time − local time.
    std::chrono::milliseconds offset() const noexcept {
        return std::chrono::milliseconds(offset_ms_.load(std::memory_order_relaxed));
    }

private:
    std::atomic<std::int64_t> offset_ms_{0};
};

}  // namespace dynalock::aws
