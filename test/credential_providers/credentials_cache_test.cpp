#include "credential_providers/credentials_cache.hpp"
#include "coroutine_test_support.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <deque>
#include <exception>
#include <memory>
#include <vector>

namespace dynalock::aws {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

const wall_clock::time_point t0 = wall_clock::time_point{} + 1'000'000h;

credentials temporary(std::string key, wall_clock::time_point expiration) {
    return credentials{.access_key_id = std::move(key),
                       .secret_access_key = "secret",
                       .session_token = "token",
                       .expiration = expiration};
}

// What one fetch does: wait `delay` (or until the deadline, if sooner), then
// answer.
struct scripted_fetch {
    error_code ec{};
    credentials creds{};
    std::string reason{};
    std::chrono::milliseconds delay{0};
};

class scripted_provider final : public async_credentials_provider {
public:
    explicit scripted_provider(std::deque<scripted_fetch>& script, int& calls)
        : script_(script), calls_(calls) {}

    asio::awaitable<error_code> fetch(credentials& out, diagnostics& diag,
                                      std::chrono::steady_clock::time_point deadline) override {
        ++calls_;
        if (script_.empty()) {
            diag.message = "the script has no more answers";
            co_return errc::credentials_unavailable;
        }
        scripted_fetch next = script_.front();
        script_.pop_front();
        // Without a delay the answer comes without suspending, as from a
        // provider that needs no I/O.
        if (next.delay.count() > 0) {
            asio::steady_timer timer(co_await asio::this_coro::executor);
            timer.expires_at(std::min(deadline, std::chrono::steady_clock::now() + next.delay));
            auto wait = timer.async_wait(asio::as_tuple(asio::use_awaitable));
            co_await std::move(wait);
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            diag.message = "scripted endpoint: no answer before the deadline";
            co_return errc::timeout;
        }
        if (next.ec) {
            diag.message = next.reason;
            co_return next.ec;
        }
        out = next.creds;
        co_return error_code{};
    }

private:
    std::deque<scripted_fetch>& script_;
    int& calls_;
};

class CredentialsCache : public ::testing::Test {
protected:
    credentials_cache make_cache(credentials_cache_options options = {}) {
        options.now = [this] { return now; };
        return credentials_cache(ctx.get_executor(),
                                 std::make_unique<scripted_provider>(script, calls), options);
    }

    // One `get`, with the context run until it and any refresh it started end.
    error_code get(credentials_cache& cache, credentials& out, diagnostics& diag) {
        error_code result;
        test::run_coroutine(ctx, [&]() -> asio::awaitable<void> {
            auto op = cache.get(out, diag);
            result = co_await std::move(op);
        }());
        ctx.restart();
        ctx.run();  // lets a background refresh finish
        return result;
    }

    asio::io_context ctx;
    std::deque<scripted_fetch> script;
    int calls = 0;
    wall_clock::time_point now = t0;
};

TEST(RefreshTime, IsTheMarginBeforeExpiration) {
    credentials c = temporary("A", t0 + 1h);
    EXPECT_EQ(refresh_time(c, t0, 5min), t0 + 55min);
}

TEST(RefreshTime, IsNeverBeforeHalfTheLifetime) {
    credentials c = temporary("A", t0 + 4min);
    EXPECT_EQ(refresh_time(c, t0, 5min), t0 + 2min);
}

TEST(RefreshTime, LongTermCredentialsAreNeverRefreshed) {
    credentials c{.access_key_id = "A", .secret_access_key = "s"};
    EXPECT_EQ(refresh_time(c, t0, 5min), std::nullopt);
    EXPECT_EQ(assess_freshness(c, t0, t0 + 10000h, 5min), credentials_freshness::fresh);
}

TEST(RefreshTime, FreshnessAtEachStage) {
    credentials c = temporary("A", t0 + 1h);
    EXPECT_EQ(assess_freshness(c, t0, t0 + 54min, 5min), credentials_freshness::fresh);
    EXPECT_EQ(assess_freshness(c, t0, t0 + 55min, 5min), credentials_freshness::refresh_due);
    EXPECT_EQ(assess_freshness(c, t0, t0 + 59min, 5min), credentials_freshness::refresh_due);
    EXPECT_EQ(assess_freshness(c, t0, t0 + 1h, 5min), credentials_freshness::expired);
}

TEST_F(CredentialsCache, FetchesOnceThenServesTheCache) {
    script = {{.creds = temporary("A", t0 + 1h)}};
    credentials_cache cache = make_cache();
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(cache, out, diag)) << diag.message;
    EXPECT_EQ(out.access_key_id, "A");
    now = t0 + 50min;
    ASSERT_FALSE(get(cache, out, diag));
    EXPECT_EQ(out.access_key_id, "A");
    EXPECT_EQ(calls, 1);
}

TEST_F(CredentialsCache, RefreshesAheadOfExpiryInTheBackground) {
    script = {{.creds = temporary("A", t0 + 1h)}, {.creds = temporary("B", t0 + 2h)}};
    credentials_cache cache = make_cache();
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(cache, out, diag));
    now = t0 + 56min;
    ASSERT_FALSE(get(cache, out, diag));
    EXPECT_EQ(out.access_key_id, "A") << "the still-valid credentials are returned at once";
    EXPECT_EQ(calls, 2);
    ASSERT_FALSE(get(cache, out, diag));
    EXPECT_EQ(out.access_key_id, "B");
    EXPECT_EQ(calls, 2);
}

TEST_F(CredentialsCache, ValidNowServesTheCacheWithoutWaiting) {
    script = {{.creds = temporary("A", t0 + 1h)}, {.creds = temporary("B", t0 + 2h)}};
    credentials_cache cache = make_cache();
    EXPECT_EQ(cache.valid_now(), nullptr) << "nothing fetched yet: get must fetch";
    EXPECT_EQ(calls, 0);
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(cache, out, diag));
    const credentials* valid = cache.valid_now();
    ASSERT_NE(valid, nullptr);
    EXPECT_EQ(valid->access_key_id, "A");
    EXPECT_EQ(calls, 1);
    now = t0 + 56min;
    ASSERT_NE(cache.valid_now(), nullptr) << "due for refresh, still valid";
    ctx.restart();
    ctx.run();
    EXPECT_EQ(calls, 2) << "a due refresh is started, as by get";
    valid = cache.valid_now();
    ASSERT_NE(valid, nullptr);
    EXPECT_EQ(valid->access_key_id, "B");
    now = t0 + 2h;
    EXPECT_EQ(cache.valid_now(), nullptr) << "expired: get must wait for a refresh";
    EXPECT_EQ(calls, 2);
}

TEST_F(CredentialsCache, ConcurrentCallersShareOneFetch) {
    script = {{.creds = temporary("A", t0 + 1h), .delay = 50ms}};
    credentials_cache cache = make_cache();
    std::vector<credentials> results(20);
    int succeeded = 0;
    test::run_coroutine(ctx, [&]() -> asio::awaitable<void> {
        for (credentials& slot : results) {
            asio::co_spawn(
                ctx,
                [&]() -> asio::awaitable<void> {
                    diagnostics diag;
                    auto op = cache.get(slot, diag);
                    if (!co_await std::move(op)) {
                        ++succeeded;
                    }
                },
                asio::detached);
        }
        asio::steady_timer settle(ctx, 500ms);
        auto wait = settle.async_wait(asio::use_awaitable);
        co_await std::move(wait);
    }());
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(succeeded, 20);
    for (const credentials& c : results) {
        EXPECT_EQ(c.access_key_id, "A");
    }
}

TEST_F(CredentialsCache, FailedRefreshKeepsValidCredentialsAndRetriesLater) {
    script = {{.creds = temporary("A", t0 + 1h)},
              {.ec = errc::timeout, .reason = "IMDS did not answer"},
              {.creds = temporary("B", t0 + 2h)}};
    credentials_cache cache = make_cache({.retry_interval = 10s});
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(cache, out, diag));
    now = t0 + 56min;
    ASSERT_FALSE(get(cache, out, diag));  // starts the refresh that fails
    EXPECT_EQ(calls, 2);
    now += 5s;
    ASSERT_FALSE(get(cache, out, diag));
    EXPECT_EQ(out.access_key_id, "A");
    EXPECT_EQ(calls, 2) << "no retry before the retry interval";
    now += 6s;
    ASSERT_FALSE(get(cache, out, diag));  // retries, in the background
    EXPECT_EQ(calls, 3);
    ASSERT_FALSE(get(cache, out, diag));
    EXPECT_EQ(out.access_key_id, "B");
}

TEST_F(CredentialsCache, EachFetchIsReportedAfterwardsAndNoneAfterTheCacheIsGone) {
    script = {{.creds = temporary("A", t0 + 1h)},
              {.ec = errc::timeout, .reason = "IMDS did not answer"},
              {.creds = temporary("B", t0 + 2h)}};
    std::vector<credentials_event> events;
    // Built in place (not make_cache): the test destroys it midway.
    auto cache = std::make_unique<credentials_cache>(
        ctx.get_executor(), std::make_unique<scripted_provider>(script, calls),
        credentials_cache_options{
            .retry_interval = 10s,
            .now = [this] { return now; },
            .on_fetch = [&](const credentials_event& e) { events.push_back(e); }});
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(*cache, out, diag));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_TRUE(events[0].refreshed);
    EXPECT_FALSE(events[0].error);
    EXPECT_EQ(events[0].expiration, t0 + 1h);
    now = t0 + 56min;
    ASSERT_FALSE(get(*cache, out, diag));  // the refresh fails; A is still good
    ASSERT_EQ(events.size(), 2u);
    EXPECT_FALSE(events[1].refreshed);
    EXPECT_EQ(events[1].error, errc::timeout);
    EXPECT_EQ(events[1].message, "IMDS did not answer");
    EXPECT_EQ(events[1].expiration, t0 + 1h) << "the expiration of those still in use";
    now += 11s;
    ASSERT_FALSE(get(*cache, out, diag));
    ASSERT_EQ(events.size(), 3u);
    EXPECT_TRUE(events[2].refreshed);
    EXPECT_EQ(events[2].expiration, t0 + 2h);

    // A refresh out when the cache goes is reported to nobody.
    script = {{.creds = temporary("C", t0 + 3h), .delay = 50ms}};
    now = t0 + 2h - 1min;
    asio::co_spawn(ctx, cache->get(out, diag), [](std::exception_ptr, error_code) {});
    ctx.restart();
    ctx.poll();
    ASSERT_EQ(calls, 4) << "the refresh is not out";
    cache.reset();
    ctx.run();
    EXPECT_EQ(script.size(), 0u) << "the refresh did not even run";
    EXPECT_EQ(events.size(), 3u);
}

TEST_F(CredentialsCache, ExpiredCredentialsAndAFailedRefreshGiveTheProvidersReason) {
    script = {{.creds = temporary("A", t0 + 1h)},
              {.ec = errc::connect_failed, .reason = "IMDS: connection refused"}};
    credentials_cache cache = make_cache();
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(cache, out, diag));
    now = t0 + 1h;
    EXPECT_EQ(get(cache, out, diag), errc::credentials_unavailable);
    EXPECT_EQ(diag.message, "IMDS: connection refused");
}

TEST_F(CredentialsCache, ExpiredCredentialsAreRefreshedBeforeUse) {
    script = {{.creds = temporary("A", t0 + 1h)}, {.creds = temporary("B", t0 + 3h)}};
    credentials_cache cache = make_cache();
    credentials out;
    diagnostics diag;
    ASSERT_FALSE(get(cache, out, diag));
    now = t0 + 2h;
    ASSERT_FALSE(get(cache, out, diag)) << diag.message;
    EXPECT_EQ(out.access_key_id, "B");
}

TEST_F(CredentialsCache, AnEndpointThatNeverAnswersEndsAtTheFetchTimeout) {
    script = {{.creds = temporary("A", t0 + 1h), .delay = 1h}};
    credentials_cache cache = make_cache({.fetch_timeout = 100ms});
    credentials out;
    diagnostics diag;
    auto started = std::chrono::steady_clock::now();
    EXPECT_EQ(get(cache, out, diag), errc::credentials_unavailable);
    EXPECT_LT(std::chrono::steady_clock::now() - started, 5s);
    EXPECT_EQ(diag.message, "scripted endpoint: no answer before the deadline");
}

TEST_F(CredentialsCache, AlreadyExpiredCredentialsAreAFailedFetch) {
    script = {{.creds = temporary("A", t0 - 1s)}};
    credentials_cache cache = make_cache();
    credentials out;
    diagnostics diag;
    EXPECT_EQ(get(cache, out, diag), errc::credentials_unavailable);
    EXPECT_EQ(diag.message, "the credentials fetched had already expired");
}

TEST_F(CredentialsCache, AConfigurationMistakeKeepsItsCode) {
    script = {{.ec = errc::invalid_config, .reason = "profile cycle"}};
    credentials_cache cache = make_cache();
    credentials out;
    diagnostics diag;
    EXPECT_EQ(get(cache, out, diag), errc::invalid_config);
    EXPECT_EQ(diag.message, "profile cycle");
}

}  // namespace
}  // namespace dynalock::aws
