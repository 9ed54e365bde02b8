#pragma once

/// \file
/// How the DynamoDB client retries.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace dynalock {

/// How a DynamoDB client retries (`dynamodb::client_options::retry`): the AWS
/// SDKs' "standard" mode, full-jitter exponential backoff and a retry-token
/// bucket per client, so a failing service is not hammered by retries. The
/// base delays are far below the SDKs' 1 s because a lock's retries must fit
/// inside a lease of a few seconds. Bounds: 1 to 100 attempts, delays from 0
/// to 1 hour, token counts from 0 to 1,000,000.
struct retry_options {
    /// Attempts per request, the first included; 1 disables retries.
    int max_attempts = 3;
    /// Backoff base for transient failures (5xx, timeouts, lost connections).
    std::chrono::milliseconds base_delay{25};
    /// Backoff base after throttling, longer to let the table's capacity refill.
    std::chrono::milliseconds throttling_base_delay{100};
    /// Cap on the backoff before any retry: the n-th retry waits a random
    /// time from 0 to min(base · 2^(n-1), max_backoff).
    std::chrono::milliseconds max_backoff{20'000};
    /// Tokens in the retry bucket when full (and at the start). A retry
    /// that finds too few tokens is not made: the failure is returned.
    int bucket_capacity = 500;
    int retry_cost = 5;           ///< tokens a retry takes
    int timeout_retry_cost = 10;  ///< tokens a retry after a timeout or connection failure takes

    /// Tokens a first-attempt success returns to the bucket; a success after
    /// retries returns what its last retry took.
    int success_refill = 1;
    /// Seed of the jitter generator, for reproducible delays in tests;
    /// nullopt seeds from std::random_device.
    std::optional<std::uint64_t> seed{};

    /// Why these options cannot be used, or nullopt when they can.
    std::optional<std::string> validate() const;
};

}  // namespace dynalock
