#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>

namespace dynalock::bench {

/// Runs the coroutines `make(0)` … `make(count - 1)` side by side on this
/// coroutine's executor (one thread: no locking between them) and returns when
/// all have finished; then rethrows the first exception any of them threw.
template <class Make>
boost::asio::awaitable<void> join_all(int count, Make make) {
    namespace asio = boost::asio;
    const auto ex = co_await asio::this_coro::executor;
    std::exception_ptr failure;
    int running = count;
    asio::steady_timer all_done(ex, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < count; ++i) {
        asio::co_spawn(ex, make(i), [&](std::exception_ptr e) {
            if (e && !failure)
                failure = e;
            if (--running == 0)
                all_done.cancel();
        });
    }
    if (running > 0) {
        auto wait = all_done.async_wait(asio::as_tuple(asio::use_awaitable));
        co_await std::move(wait);
    }
    if (failure)
        std::rethrow_exception(failure);
}

}  // namespace dynalock::bench
