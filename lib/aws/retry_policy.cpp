#include "aws/retry_policy.hpp"

#include <random>
#include <stdexcept>
#include <string>

namespace dynalock {

std::optional<std::string> retry_options::validate() const {
    // The upper bounds are far beyond any use; they keep the token arithmetic
    // from overflowing an int.
    constexpr std::chrono::milliseconds max_delay = std::chrono::hours(1);
    constexpr int max_tokens = 1'000'000;
    const auto delay_ok = [&](std::chrono::milliseconds d) {
        return d.count() >= 0 && d <= max_delay;
    };
    const auto tokens_ok = [&](int n) { return n >= 0 && n <= max_tokens; };
    if (max_attempts < 1 || max_attempts > 100) {
        return "max_attempts must be from 1 to 100";
    }
    if (!delay_ok(base_delay) || !delay_ok(throttling_base_delay)) {
        return "base delays must be from 0 to 1 hour";
    }
    if (!delay_ok(max_backoff)) {
        return "max_backoff must be from 0 to 1 hour";
    }
    if (!tokens_ok(bucket_capacity)) {
        return "bucket_capacity must be from 0 to 1000000";
    }
    if (!tokens_ok(retry_cost) || !tokens_ok(timeout_retry_cost) || !tokens_ok(success_refill)) {
        return "token costs and refill must be from 0 to 1000000";
    }
    return std::nullopt;
}

}  // namespace dynalock

namespace dynalock::aws {
namespace {

std::uint64_t random_seed() {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
}

bool is_timeout_like(error_code ec) {
    return ec == errc::timeout || ec == errc::connection_lost || ec == errc::connect_failed;
}

// min(base * 2^exponent, cap) without overflow.
std::chrono::milliseconds capped_backoff(std::chrono::milliseconds base, int exponent,
                                         std::chrono::milliseconds cap) {
    std::chrono::milliseconds value = std::min(base, cap);
    for (int i = 0; i < exponent && value < cap; ++i) {
        value = value > cap / 2 ? cap : value * 2;
    }
    return value;
}

}  // namespace


retry_policy::retry_policy(retry_options options)
    : options_(std::move(options)),
      tokens_(options_.bucket_capacity),
      rng_state_(options_.seed.value_or(random_seed())) {
    if (auto problem = options_.validate()) {
        throw std::invalid_argument("dynalock::retry_options: " + *problem);
    }
}

std::optional<std::chrono::milliseconds> retry_policy::next_delay(
    error_code ec, retry_state& state, std::chrono::steady_clock::duration time_left) {
    if (!is_retryable(ec) || state.attempts_made_ >= options_.max_attempts) {
        return std::nullopt;
    }
    bool throttled = ec == errc::throttled;
    std::chrono::milliseconds cap =
        capped_backoff(throttled ? options_.throttling_base_delay : options_.base_delay,
                       state.attempts_made_ - 1, options_.max_backoff);
    // Full jitter: uniform in [0, cap].
    auto delay = std::chrono::milliseconds(static_cast<std::chrono::milliseconds::rep>(
        next_random() % (static_cast<std::uint64_t>(cap.count()) + 1)));
    // Compared in milliseconds: a long delay in nanoseconds could overflow.
    if (delay >= std::chrono::floor<std::chrono::milliseconds>(time_left)) {
        return std::nullopt;
    }
    int cost = is_timeout_like(ec) ? options_.timeout_retry_cost : options_.retry_cost;
    if (cost > tokens_) {
        return std::nullopt;
    }
    tokens_ -= cost;
    state.tokens_held_ = cost;
    ++state.attempts_made_;
    return delay;
}

void retry_policy::on_success(const retry_state& state) noexcept {
    int refill = state.attempts_made_ > 1 ? state.tokens_held_ : options_.success_refill;
    tokens_ = std::min(options_.bucket_capacity, tokens_ + refill);
}

// splitmix64: tiny, fast and good enough to spread jitter.
std::uint64_t retry_policy::next_random() noexcept {
    std::uint64_t z = (rng_state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

}  // namespace dynalock::aws
