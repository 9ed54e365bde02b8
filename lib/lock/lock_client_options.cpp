#include <dynalock/lock_client.hpp>

#include <string>

namespace dynalock {

using std::chrono::milliseconds;

std::optional<std::string> lock_client_options::validate() const {
    auto ms = [](milliseconds d) { return std::to_string(d.count()) + " ms"; };
    // Bounds far beyond any use, so that no deadline computed from them can
    // overflow the steady clock.
    constexpr milliseconds max_request_timeout = std::chrono::hours(1);
    constexpr std::size_t max_in_flight_limit = 65536;
    constexpr std::size_t max_observations = 10'000'000;
    if (lease <= milliseconds::zero() || lease > max_lease) {
        return "lease (" + ms(lease) + ") must be positive and at most " + ms(max_lease) +
               " (7 days, max_lease)";
    }
    if (heartbeat_period <= milliseconds::zero()) {
        return "heartbeat_period must be positive";
    }
    if (lease < 2 * heartbeat_period) {
        return "lease (" + ms(lease) + ") must be at least twice heartbeat_period (" +
               ms(heartbeat_period) + "); three times or more is recommended";
    }
    if (safety_margin < milliseconds::zero() || heartbeat_period + safety_margin >= lease) {
        return "safety_margin (" + ms(safety_margin) +
               ") must be zero or more and leave room for a heartbeat within the lease";
    }
    if (poll_period <= milliseconds::zero() || poll_period > max_lease) {
        return "poll_period (" + ms(poll_period) + ") must be positive and at most " +
               ms(max_lease) + " (7 days)";
    }
    if (request_timeout <= milliseconds::zero() || request_timeout > max_request_timeout) {
        return "request_timeout (" + ms(request_timeout) + ") must be positive and at most " +
               ms(max_request_timeout) + " (1 hour)";
    }
    if (heartbeat_retry_delay <= milliseconds::zero() || heartbeat_retry_delay >= lease) {
        return "heartbeat_retry_delay must be positive and below the lease";
    }
    if (danger_zone < milliseconds::zero() || danger_zone >= lease) {
        return "danger_zone must be zero or more and below the lease";
    }
    if (max_in_flight == 0 || max_in_flight > max_in_flight_limit) {
        return "max_in_flight (" + std::to_string(max_in_flight) + ") must be from 1 to " +
               std::to_string(max_in_flight_limit);
    }
    if (observation_cache_size > max_observations) {
        return "observation_cache_size (" + std::to_string(observation_cache_size) +
               ") must be at most " + std::to_string(max_observations);
    }
    if (owner.size() > 1024) {
        return "owner must be at most 1024 bytes";
    }
    return std::nullopt;
}

}  // namespace dynalock
