#include <dynalock/http_options.hpp>

namespace dynalock {

namespace {
// Bounds far beyond any use: more connections than one address has ports for
// are a mistake, DynamoDB answers are a few MiB at most, and no deadline
// computed from a timeout can overflow the steady clock.
constexpr std::size_t connections_limit = 65536;
constexpr std::size_t body_limit = std::size_t{1} << 30;
constexpr std::chrono::milliseconds timeout_limit = std::chrono::hours(1);
}  // namespace

std::optional<std::string> http_options::validate() const {
    if (max_connections == 0 || max_connections > connections_limit) {
        return "http_options.max_connections must be from 1 to 65536";
    }
    if (max_response_body_bytes == 0 || max_response_body_bytes > body_limit) {
        return "http_options.max_response_body_bytes must be from 1 to 1073741824 (1 GiB)";
    }
    if (connect_timeout <= std::chrono::milliseconds::zero() || connect_timeout > timeout_limit) {
        return "http_options.connect_timeout must be positive and at most 1 hour";
    }
    if (idle_timeout <= std::chrono::milliseconds::zero() || idle_timeout > timeout_limit) {
        return "http_options.idle_timeout must be positive and at most 1 hour";
    }
    return std::nullopt;
}

}  // namespace dynalock
