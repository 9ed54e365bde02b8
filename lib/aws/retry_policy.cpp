#include "aws/retry_policy.hpp"

#include <random>
#include <stdexcept>
#include <string>

namespace dynalock::aws {
namespace {

std::uint64_t random_seed() {
    std::random_device device;
    return (std::uint64_t{device()} << 32) ^ device();
}

void validate(const retry_options& o) {
    auto require = [](bool ok, const char* what) {
        if (!ok) {
            throw std::invalid_argument(std::string("dynalock::retry_options: ") + what);
        }
    };
    require(o.max_attempts >= 1, "max_attempts must be at least 1");
    require(o.base_delay.count() >= 0 && o.throttling_base_delay.count() >= 0,
            "base delays must not be negative");
    require(o.max_backoff.count() >= 0, "max_backoff must not be negative");
    require(o.bucket_capacity >= 0, "bucket_capacity must not be negative");
    require(o.retry_cost >= 0 && o.timeout_retry_cost >= 0 && o.success_refill >= 0,
            "token costs and refill must not be negative");
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
    validate(options_);
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
