#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <vector>

namespace dynalock::http::test {

/// Longest any single test may keep the io_context running: a pool that hangs
/// fails the test instead of stalling until the harness kills it.
inline constexpr std::chrono::seconds hang_guard{10};

/// Runs `ops` concurrently on `io` until all complete; returns their results in order.
template <class T>
std::vector<T> run_all(boost::asio::io_context& io, std::vector<boost::asio::awaitable<T>> ops) {
    // Shared, so that an operation completing after a hang_guard expiry writes
    // into something still alive.
    struct progress {
        std::vector<std::optional<T>> results;
        std::exception_ptr failure;
        std::size_t remaining = 0;
    };
    auto state = std::make_shared<progress>();
    state->results.resize(ops.size());
    state->remaining = ops.size();
    for (std::size_t i = 0; i < ops.size(); ++i) {
        boost::asio::co_spawn(io, std::move(ops[i]),
                              [state, &io, i](std::exception_ptr e, T value) {
                                  if (e) {
                                      state->failure = e;
                                  }
                                  state->results[i] = std::move(value);
                                  if (--state->remaining == 0) {
                                      io.stop();
                                  }
                              });
    }
    io.restart();
    io.run_for(hang_guard);
    if (state->failure) {
        std::rethrow_exception(state->failure);
    }
    std::vector<T> out;
    for (auto& r : state->results) {
        if (!r) {
            ADD_FAILURE() << "an operation did not complete within " << hang_guard.count() << " s";
            out.emplace_back();
        } else {
            out.push_back(std::move(*r));
        }
    }
    return out;
}

template <class T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> op) {
    std::vector<boost::asio::awaitable<T>> ops;
    ops.push_back(std::move(op));
    return std::move(run_all(io, std::move(ops)).front());
}

}  // namespace dynalock::http::test
