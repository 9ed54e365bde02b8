#pragma once

#include <dynalock/error.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace dynalock {

/// The AWS SDKs' "standard" retry mode: full-jitter exponential backoff and a
/// retry-token bucket per client, so a failing service is not hammered by
/// retries. The base delays are far below the SDKs' 1 s because a lock's
/// retries must fit inside a lease of a few seconds. Bounds: 1 to 100
/// attempts, delays from 0 to 1 hour, token counts from 0 to 1,000,000.
struct retry_options {
    /// Attempts per request, the first included; 1 disables retries.
    int max_attempts = 3;
    /// Backoff base for transient failures (5xx, timeouts, lost connections).
    std::chrono::milliseconds base_delay{25};
    /// Backoff base after throttling, longer to let the table's capacity refill.
    std::chrono::milliseconds throttling_base_delay{100};
    std::chrono::milliseconds max_backoff{20'000};
    int bucket_capacity = 500;
    int retry_cost = 5;           ///< tokens a retry takes
    int timeout_retry_cost = 10;  ///< tokens a retry after a timeout or connection failure takes
    int success_refill = 1;       ///< tokens a first-attempt success returns
    /// Seed of the jitter generator; nullopt seeds from std::random_device.
    std::optional<std::uint64_t> seed{};

    /// Why these options cannot be used, or nullopt when they can.
    std::optional<std::string> validate() const;
};

/// Bookkeeping of one logical request across its attempts.
class retry_state {
public:
    /// Attempts sent so far, the one that just failed included.
    int attempts_made() const noexcept { return attempts_made_; }
    /// Tokens taken from the bucket for the latest retry; returned on success.
    int tokens_held() const noexcept { return tokens_held_; }

private:
    friend class retry_policy;
    int attempts_made_ = 1;
    int tokens_held_ = 0;
};

/// Decides whether and when to retry. Sans-io: it never waits, the caller
/// does. One instance serves all requests of a client (the token bucket is per
/// client). Not thread-safe: call it from the client's executor.
///
///     retry_state state;
///     for (;;) {
///         error_code ec = send();
///         if (!ec) { policy.on_success(state); break; }
///         auto delay = policy.next_delay(ec, state, deadline - now());
///         if (!delay) return ec;
///         wait(*delay);
///     }
class retry_policy {
public:
    explicit retry_policy(retry_options options = {});

    /// The wait before the next attempt of a request whose latest attempt
    /// failed with `ec`, or nullopt when it must not be retried: `ec` is not
    /// retryable, the attempts are used up, the token bucket is empty, or the
    /// wait would not end strictly before `time_left` runs out. A retry takes
    /// tokens from the bucket and counts an attempt in `state`.
    std::optional<std::chrono::milliseconds> next_delay(
        error_code ec, retry_state& state, std::chrono::steady_clock::duration time_left);

    /// Reports that the request succeeded: returns its retry's tokens to the
    /// bucket, or `success_refill` tokens when it needed no retry.
    void on_success(const retry_state& state) noexcept;

    int available_tokens() const noexcept { return tokens_; }
    const retry_options& options() const noexcept { return options_; }

private:
    std::uint64_t next_random() noexcept;

    retry_options options_;
    int tokens_;
    std::uint64_t rng_state_;
};

}  // namespace dynalock
