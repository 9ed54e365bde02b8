#include "credential_providers/credentials_cache.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <utility>

namespace dynalock::aws {

namespace asio = boost::asio;

std::optional<wall_clock::time_point> refresh_time(const credentials& creds,
                                                   wall_clock::time_point fetched_at,
                                                   wall_clock::duration margin) {
    if (!creds.expiration) {
        return std::nullopt;
    }
    wall_clock::duration half_life = (*creds.expiration - fetched_at) / 2;
    return *creds.expiration - std::clamp(margin, wall_clock::duration::zero(), half_life);
}

credentials_freshness assess_freshness(const credentials& creds, wall_clock::time_point fetched_at,
                                       wall_clock::time_point now, wall_clock::duration margin) {
    std::optional<wall_clock::time_point> refresh_at = refresh_time(creds, fetched_at, margin);
    if (!refresh_at || now < *refresh_at) {
        return credentials_freshness::fresh;
    }
    return now < *creds.expiration ? credentials_freshness::refresh_due
                                   : credentials_freshness::expired;
}

struct credentials_cache_state {
    credentials_cache_state(asio::any_io_executor executor,
                            std::unique_ptr<async_credentials_provider> source,
                            credentials_cache_options opts)
        : provider(std::move(source)), options(std::move(opts)), refresh_ended(executor) {
        refresh_ended.expires_at(asio::steady_timer::time_point::max());
    }

    std::unique_ptr<async_credentials_provider> provider;
    credentials_cache_options options;
    std::optional<credentials> current;
    wall_clock::time_point fetched_at;
    bool refreshing = false;
    // Counts finished refreshes, so a waiter woken by its own cancellation
    // can tell that no refresh ended.
    std::uint64_t refreshes_ended = 0;
    wall_clock::time_point retry_not_before;
    error_code last_error;
    std::string last_reason;
    // Never expires: waiters sleep on it and a finished refresh cancels it.
    asio::steady_timer refresh_ended;

    credentials_freshness freshness() const {
        return assess_freshness(*current, fetched_at, options.now(), options.refresh_margin);
    }

    void finish_refresh(error_code ec, std::string reason, std::optional<credentials> fetched) {
        if (!ec) {
            current = std::move(fetched);
            fetched_at = options.now();
            last_error = {};
            last_reason.clear();
        } else {
            last_error = ec;
            last_reason = std::move(reason);
            retry_not_before = options.now() + options.retry_interval;
        }
        refreshing = false;
        ++refreshes_ended;
        refresh_ended.cancel();
        if (hook_alive) {
            report({.refreshed = !ec,
                    .error = ec,
                    .message = last_reason,
                    .expiration = current ? current->expiration : std::nullopt});
        }
    }

    // Later: the hook may call into what holds this cache.
    void report(credentials_event e) {
        asio::post(refresh_ended.get_executor(),
                   [hook = std::weak_ptr(hook_alive), e = std::move(e)] {
                       if (auto h = hook.lock()) {
                           (*h)(e);
                       }
                   });
    }

    // The hook, shared with the reports in the executor's queue; reset when
    // the cache is destroyed, so that none comes after.
    std::shared_ptr<std::function<void(const credentials_event&)>> hook_alive =
        options.on_fetch
            ? std::make_shared<std::function<void(const credentials_event&)>>(options.on_fetch)
            : nullptr;
};

namespace {

asio::awaitable<void> refresh(std::shared_ptr<credentials_cache_state> state) {
    credentials fetched;
    diagnostics diag;
    auto deadline = std::chrono::steady_clock::now() + state->options.fetch_timeout;
    auto fetch = state->provider->fetch(fetched, diag, deadline);
    error_code ec = co_await std::move(fetch);
    if (!ec && fetched.expiration && *fetched.expiration <= state->options.now()) {
        ec = errc::credentials_unavailable;
        diag.message = "the credentials fetched had already expired";
    }
    state->finish_refresh(ec, std::move(diag.message), std::move(fetched));
}

void start_refresh(const std::shared_ptr<credentials_cache_state>& state) {
    state->refreshing = true;
    // A provider that throws must still end the refresh, or its waiters would
    // wait for ever.
    asio::co_spawn(
        state->refresh_ended.get_executor(), refresh(state), [state](std::exception_ptr thrown) {
            if (thrown && state->refreshing) {
                state->finish_refresh(errc::credentials_unavailable,
                                      "the credentials provider failed unexpectedly", std::nullopt);
            }
        });
}

}  // namespace

credentials_cache::credentials_cache(asio::any_io_executor executor,
                                     std::unique_ptr<async_credentials_provider> provider,
                                     credentials_cache_options options)
    : state_(std::make_shared<credentials_cache_state>(std::move(executor), std::move(provider),
                                                       std::move(options))) {}

credentials_cache::~credentials_cache() {
    stop_reporting();
}

void credentials_cache::stop_reporting() noexcept {
    state_->hook_alive.reset();
}

namespace {

bool usable(credentials_cache_state& state) {
    return state.current && state.freshness() != credentials_freshness::expired;
}

// Usable credentials stay in use until a background refresh replaces them.
void refresh_if_due(const std::shared_ptr<credentials_cache_state>& state) {
    if (state->freshness() == credentials_freshness::refresh_due && !state->refreshing &&
        state->options.now() >= state->retry_not_before) {
        start_refresh(state);
    }
}

}  // namespace

const credentials* credentials_cache::valid_now() {
    if (!usable(*state_)) {
        return nullptr;
    }
    const credentials* valid = &*state_->current;
    // A refresh that completes at once replaces them in place, with valid ones.
    refresh_if_due(state_);
    return valid;
}

asio::awaitable<error_code> credentials_cache::get(credentials& out, diagnostics& diag) {
    std::shared_ptr<credentials_cache_state> state = state_;
    if (usable(*state)) {
        out = *state->current;
        refresh_if_due(state);
        co_return error_code{};
    }
    std::uint64_t ended_before = state->refreshes_ended;
    if (!state->refreshing) {
        start_refresh(state);
    }
    // A provider that needs no I/O has finished already: co_spawn dispatches.
    if (state->refreshes_ended == ended_before) {
        auto wait = state->refresh_ended.async_wait(asio::as_tuple(asio::use_awaitable));
        co_await std::move(wait);
        if (state->refreshes_ended == ended_before) {
            co_return asio::error::operation_aborted;
        }
    }
    if (usable(*state)) {
        out = *state->current;
        co_return error_code{};
    }
    diag.message = state->last_reason;
    co_return state->last_error == errc::invalid_config ? state->last_error
                                                        : errc::credentials_unavailable;
}

}  // namespace dynalock::aws
