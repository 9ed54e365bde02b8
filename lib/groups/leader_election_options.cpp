#include <dynalock/leader_election.hpp>

#include <algorithm>
#include <string>

namespace dynalock {

using std::chrono::milliseconds;

std::optional<std::string> leader_election_options::validate() const {
    auto ms = [](milliseconds d) { return std::to_string(d.count()) + " ms"; };
    if (name.partition.empty()) {
        return "name must not be empty";
    }
    if (lease_duration <= milliseconds::zero() || renew_deadline <= milliseconds::zero() ||
        retry_period <= milliseconds::zero()) {
        return "lease_duration, renew_deadline and retry_period must be positive";
    }
    if (lease_duration > max_lease) {
        return "lease_duration (" + ms(lease_duration) + ") must be at most " + ms(max_lease) +
               " (7 days, max_lease)";
    }
    if (lease_duration <= renew_deadline) {
        return "lease_duration (" + ms(lease_duration) + ") must be greater than renew_deadline (" +
               ms(renew_deadline) + ")";
    }
    // renew_deadline > 1.2 × retry_period, in integers: renew_deadline is
    // below max_lease here and retry_period is compared with it first, so
    // neither product can overflow.
    if (retry_period >= renew_deadline || 5 * renew_deadline <= 6 * retry_period) {
        return "renew_deadline (" + ms(renew_deadline) +
               ") must be greater than 1.2 × retry_period (" + ms(retry_period) + ")";
    }
    if (auto problem = lock_options().validate()) {
        return "the lock client options these map onto (lease = lease_duration, heartbeat and "
               "poll periods = retry_period, safety_margin = lease_duration − renew_deadline): " +
               *problem;
    }
    return std::nullopt;
}

lock_client_options leader_election_options::lock_options() const {
    // A failed renewal is retried soon, but never more often than renewals
    // come anyway.
    constexpr milliseconds renewal_retry{200};
    return {.owner = identity,
            .lease = lease_duration,
            .heartbeat_period = retry_period,
            .safety_margin = lease_duration - renew_deadline,
            .poll_period = retry_period,
            .request_timeout = request_timeout,
            .heartbeat_retry_delay = std::min(renewal_retry, retry_period),
            .max_in_flight = 4,
            .observation_cache_size = 4};
}

}  // namespace dynalock
