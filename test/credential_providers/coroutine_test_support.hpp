#pragma once

#include "credential_providers/async_credentials_provider.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <exception>

namespace dynalock::test {

/// Runs `body` on `ctx` until it and everything it started have finished, and
/// rethrows what it threw, so that a failed ASSERT inside shows up.
inline void run_coroutine(boost::asio::io_context& ctx, boost::asio::awaitable<void> body) {
    std::exception_ptr thrown;
    bool finished = false;
    boost::asio::co_spawn(ctx, std::move(body), [&](std::exception_ptr e) {
        thrown = e;
        finished = true;
        // Servers a test starts keep accepting; they end with the context.
        ctx.stop();
    });
    ctx.restart();  // an earlier run_coroutine stopped it
    ctx.run();
    ASSERT_TRUE(finished) << "the test coroutine did not finish";
    if (thrown) {
        std::rethrow_exception(thrown);
    }
}

/// One fetch from `provider`, run on `ctx` to its end, with `timeout` from now.
inline error_code fetch_credentials(boost::asio::io_context& ctx,
                                    aws::async_credentials_provider& provider, credentials& out,
                                    diagnostics& diag,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    error_code result;
    run_coroutine(ctx, [&]() -> boost::asio::awaitable<void> {
        auto op = provider.fetch(out, diag, std::chrono::steady_clock::now() + timeout);
        result = co_await std::move(op);
    }());
    return result;
}

}  // namespace dynalock::test
