#include "aws/retry_policy.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>

namespace dynalock::aws {
namespace {

using namespace std::chrono_literals;

constexpr auto forever = std::chrono::steady_clock::duration::max();

retry_options seeded(retry_options o = {}) {
    o.seed = 42;
    return o;
}

TEST(RetryPolicy, DefaultsFollowStandardMode) {
    retry_options o;
    EXPECT_EQ(o.max_attempts, 3);
    EXPECT_EQ(o.max_backoff, 20s);
    EXPECT_EQ(o.bucket_capacity, 500);
    EXPECT_EQ(o.retry_cost, 5);
    EXPECT_EQ(o.timeout_retry_cost, 10);
    EXPECT_EQ(o.success_refill, 1);
    EXPECT_EQ(retry_policy(seeded()).available_tokens(), 500);
}

TEST(RetryPolicy, NonRetryableErrorsAreNotRetried) {
    retry_policy policy(seeded());
    for (errc e : {errc::conditional_check_failed, errc::validation_failed, errc::access_denied,
                   errc::resource_not_found, errc::credentials_unavailable}) {
        retry_state state;
        EXPECT_FALSE(policy.next_delay(e, state, forever)) << make_error_code(e).message();
        EXPECT_EQ(state.attempts_made(), 1);
    }
    retry_state state;
    EXPECT_FALSE(policy.next_delay(make_error_code(boost::system::errc::timed_out), state, forever))
        << "foreign categories are not ours to judge";
    EXPECT_FALSE(policy.next_delay(error_code{}, state, forever));
    EXPECT_EQ(policy.available_tokens(), 500);
}

TEST(RetryPolicy, StopsAfterMaxAttempts) {
    retry_policy policy(seeded({.max_attempts = 4}));
    retry_state state;
    EXPECT_TRUE(policy.next_delay(errc::internal_server_error, state, forever));
    EXPECT_TRUE(policy.next_delay(errc::internal_server_error, state, forever));
    EXPECT_TRUE(policy.next_delay(errc::internal_server_error, state, forever));
    EXPECT_EQ(state.attempts_made(), 4);
    EXPECT_FALSE(policy.next_delay(errc::internal_server_error, state, forever));
    EXPECT_EQ(state.attempts_made(), 4);
}

TEST(RetryPolicy, SingleAttemptNeverRetries) {
    retry_policy policy(seeded({.max_attempts = 1}));
    retry_state state;
    EXPECT_FALSE(policy.next_delay(errc::throttled, state, forever));
}

TEST(RetryPolicy, DelaysStayWithinTheExponentialCap) {
    retry_options o = seeded({.max_attempts = 12,
                              .base_delay = 10ms,
                              .throttling_base_delay = 30ms,
                              .max_backoff = 1000ms});
    retry_policy policy(o);
    for (int round = 0; round < 200; ++round) {
        retry_state transient;
        retry_state throttled;
        for (int attempt = 1; attempt < o.max_attempts; ++attempt) {
            auto cap = [&](std::chrono::milliseconds base) {
                return std::min<std::chrono::milliseconds>(base * (1 << (attempt - 1)),
                                                           o.max_backoff);
            };
            auto d1 = policy.next_delay(errc::connection_lost, transient, forever);
            ASSERT_TRUE(d1);
            EXPECT_GE(*d1, 0ms);
            EXPECT_LE(*d1, cap(o.base_delay)) << "attempt " << attempt;
            auto d2 = policy.next_delay(errc::throttled, throttled, forever);
            ASSERT_TRUE(d2);
            EXPECT_GE(*d2, 0ms);
            EXPECT_LE(*d2, cap(o.throttling_base_delay)) << "attempt " << attempt;
            policy.on_success(transient);
            policy.on_success(throttled);
        }
    }
}

TEST(RetryPolicy, JitterSpreadsOverTheWholeRange) {
    retry_policy policy(seeded({.max_attempts = 2, .base_delay = 100ms}));
    std::chrono::milliseconds lowest = 100ms, highest = 0ms;
    for (int i = 0; i < 500; ++i) {
        retry_state state;
        auto d = policy.next_delay(errc::internal_server_error, state, forever);
        ASSERT_TRUE(d);
        lowest = std::min(lowest, *d);
        highest = std::max(highest, *d);
        policy.on_success(state);
    }
    EXPECT_LT(lowest, 10ms);
    EXPECT_GT(highest, 90ms);
}

TEST(RetryPolicy, SameSeedSameDelays) {
    retry_policy a(seeded({.max_attempts = 5}));
    retry_policy b(seeded({.max_attempts = 5}));
    retry_policy c(retry_options{.max_attempts = 5, .seed = 43});
    retry_state sa, sb, sc;
    bool all_equal_to_c = true;
    for (int i = 0; i < 4; ++i) {
        auto da = a.next_delay(errc::throttled, sa, forever);
        auto db = b.next_delay(errc::throttled, sb, forever);
        auto dc = c.next_delay(errc::throttled, sc, forever);
        EXPECT_EQ(da, db);
        all_equal_to_c = all_equal_to_c && da == dc;
    }
    EXPECT_FALSE(all_equal_to_c);
}

TEST(RetryPolicy, LargeAttemptCountsDoNotOverflow) {
    // The largest the options allow: base × 2^98 would overflow many times over.
    retry_policy policy(seeded({.max_attempts = 100,
                                .base_delay = std::chrono::hours(1),
                                .max_backoff = 5000ms,
                                .bucket_capacity = 100000}));
    retry_state state;
    for (int i = 1; i < 100; ++i) {
        auto d = policy.next_delay(errc::service_unavailable, state, forever);
        ASSERT_TRUE(d);
        ASSERT_LE(*d, 5000ms);
        ASSERT_GE(*d, 0ms);
    }
}

TEST(RetryPolicy, ZeroBaseMeansNoWait) {
    retry_policy policy(seeded({.base_delay = 0ms}));
    retry_state state;
    EXPECT_EQ(policy.next_delay(errc::timeout, state, forever), 0ms);
}

TEST(RetryPolicy, NeverReturnsADelayThatPassesTheDeadline) {
    retry_policy policy(seeded({.max_attempts = 2, .base_delay = 1000ms}));
    for (int i = 0; i < 300; ++i) {
        auto time_left = std::chrono::milliseconds(i * 3);
        retry_state state;
        auto d = policy.next_delay(errc::internal_server_error, state, time_left);
        if (d) {
            EXPECT_LT(*d, time_left);
            EXPECT_EQ(state.attempts_made(), 2);
            policy.on_success(state);
        } else {
            EXPECT_EQ(state.attempts_made(), 1);
        }
    }
    // Refused retries take no tokens.
    EXPECT_EQ(policy.available_tokens(), 500);
}

TEST(RetryPolicy, NoTimeLeftNoRetry) {
    retry_policy policy(seeded({.base_delay = 0ms}));
    retry_state state;
    EXPECT_FALSE(policy.next_delay(errc::timeout, state, 0ms));
    EXPECT_FALSE(policy.next_delay(errc::timeout, state, -5ms));
    EXPECT_EQ(policy.available_tokens(), 500);
}

TEST(RetryPolicy, RetryCostsDependOnTheError) {
    retry_policy policy(seeded({.max_attempts = 10}));
    retry_state state;
    ASSERT_TRUE(policy.next_delay(errc::throttled, state, forever));
    EXPECT_EQ(state.tokens_held(), 5);
    EXPECT_EQ(policy.available_tokens(), 495);
    ASSERT_TRUE(policy.next_delay(errc::timeout, state, forever));
    EXPECT_EQ(state.tokens_held(), 10);
    EXPECT_EQ(policy.available_tokens(), 485);
    ASSERT_TRUE(policy.next_delay(errc::connection_lost, state, forever));
    ASSERT_TRUE(policy.next_delay(errc::connect_failed, state, forever));
    EXPECT_EQ(policy.available_tokens(), 465);
    ASSERT_TRUE(policy.next_delay(errc::internal_server_error, state, forever));
    ASSERT_TRUE(policy.next_delay(errc::crc32_mismatch, state, forever));
    EXPECT_EQ(policy.available_tokens(), 455);
}

TEST(RetryPolicy, EmptyBucketStopsRetries) {
    retry_policy policy(seeded({.max_attempts = 2, .bucket_capacity = 22}));
    int retries = 0;
    for (int i = 0; i < 10; ++i) {
        retry_state state;
        if (policy.next_delay(errc::service_unavailable, state, forever)) {
            ++retries;
        }
    }
    EXPECT_EQ(retries, 4);  // 22 tokens buy four retries of 5
    EXPECT_EQ(policy.available_tokens(), 2);

    // A timeout costs 10; not even one is left, though a cheaper one would fit.
    retry_state state;
    EXPECT_FALSE(policy.next_delay(errc::timeout, state, forever));
    EXPECT_EQ(state.attempts_made(), 1);
}

TEST(RetryPolicy, SuccessRefillsTheBucket) {
    retry_policy policy(seeded({.max_attempts = 3, .bucket_capacity = 20}));
    retry_state failing;
    ASSERT_TRUE(policy.next_delay(errc::timeout, failing, forever));
    ASSERT_TRUE(policy.next_delay(errc::throttled, failing, forever));
    EXPECT_EQ(policy.available_tokens(), 5);

    // A retried success returns the cost of its latest retry.
    policy.on_success(failing);
    EXPECT_EQ(policy.available_tokens(), 10);

    // A first-attempt success returns one token, up to the capacity.
    for (int i = 0; i < 15; ++i) {
        policy.on_success(retry_state{});
    }
    EXPECT_EQ(policy.available_tokens(), 20);
}

TEST(RetryPolicy, BucketIsSharedByAllRequests) {
    retry_policy policy(seeded({.max_attempts = 2, .bucket_capacity = 10}));
    retry_state first, second, third;
    EXPECT_TRUE(policy.next_delay(errc::throttled, first, forever));
    EXPECT_TRUE(policy.next_delay(errc::throttled, second, forever));
    EXPECT_FALSE(policy.next_delay(errc::throttled, third, forever));
    policy.on_success(first);
    EXPECT_TRUE(policy.next_delay(errc::throttled, third, forever));
}

TEST(RetryPolicy, InvalidOptionsAreRejected) {
    EXPECT_THROW(retry_policy({.max_attempts = 0}), std::invalid_argument);
    EXPECT_THROW(retry_policy({.base_delay = -1ms}), std::invalid_argument);
    EXPECT_THROW(retry_policy({.throttling_base_delay = -1ms}), std::invalid_argument);
    EXPECT_THROW(retry_policy({.max_backoff = -1ms}), std::invalid_argument);
    EXPECT_THROW(retry_policy({.bucket_capacity = -1}), std::invalid_argument);
    EXPECT_THROW(retry_policy({.retry_cost = -1}), std::invalid_argument);
    // Beyond any use, and where the token arithmetic would overflow.
    EXPECT_THROW(retry_policy({.max_attempts = 101}), std::invalid_argument);
    EXPECT_THROW(retry_policy({.max_backoff = std::chrono::hours(2)}), std::invalid_argument);
    EXPECT_THROW(retry_policy({.base_delay = std::chrono::milliseconds::max()}),
                 std::invalid_argument);
    EXPECT_THROW(retry_policy({.bucket_capacity = 1'000'001}), std::invalid_argument);
    EXPECT_THROW(retry_policy({.success_refill = std::numeric_limits<int>::max()}),
                 std::invalid_argument);
    EXPECT_NO_THROW(retry_policy(
        {.max_attempts = 100, .max_backoff = std::chrono::hours(1), .bucket_capacity = 1'000'000}));
    try {
        retry_policy bad({.max_attempts = 0});
        ADD_FAILURE() << "max_attempts = 0 was accepted";
    } catch (const std::invalid_argument& e) {
        EXPECT_STREQ(e.what(), "dynalock::retry_options: max_attempts must be from 1 to 100");
    }
    EXPECT_EQ(retry_options{.bucket_capacity = 2'000'000}.validate(),
              std::optional<std::string>("bucket_capacity must be from 0 to 1000000"));
    EXPECT_EQ(retry_options{}.validate(), std::nullopt);
}

TEST(RetryPolicy, UnseededPoliciesWork) {
    retry_policy policy;
    retry_state state;
    auto d = policy.next_delay(errc::throttled, state, forever);
    ASSERT_TRUE(d);
    EXPECT_LE(*d, policy.options().throttling_base_delay);
}

}  // namespace
}  // namespace dynalock::aws
