#include <dynalock/lock_client.hpp>

#include <string>

namespace dynalock {

using std::chrono::milliseconds;

std::optional<std::string> lock_client_options::validate() const {
    auto ms = [](milliseconds d) { return std::to_string(d.count()) + " ms"; };
    if (lease <= milliseconds::zero()) {
        return "lease must be positive";
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
    if (poll_period <= milliseconds::zero()) {
        return "poll_period must be positive";
    }
    if (request_timeout <= milliseconds::zero()) {
        return "request_timeout must be positive";
    }
    if (heartbeat_retry_delay <= milliseconds::zero() || heartbeat_retry_delay >= lease) {
        return "heartbeat_retry_delay must be positive and below the lease";
    }
    if (danger_zone < milliseconds::zero() || danger_zone >= lease) {
        return "danger_zone must be zero or more and below the lease";
    }
    if (max_in_flight == 0) {
        return "max_in_flight must be at least 1";
    }
    if (owner.size() > 1024) {
        return "owner must be at most 1024 bytes";
    }
    return std::nullopt;
}

}  // namespace dynalock
