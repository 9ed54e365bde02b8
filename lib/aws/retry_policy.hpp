#pragma once

#include <dynalock/error.hpp>
#include <dynalock/retry_options.hpp>

#include <chrono>
#include <cstdint>
#include <optional>

// Not public: the DynamoDB client applies the policy; users only configure it,
// through `retry_options` (include/dynalock/retry_options.hpp).

namespace dynalock::aws {

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

}  // namespace dynalock::aws
