#pragma once

// Operations started with a callback on a clock the test moves by hand
// (manual_time): the test looks at what each completed with, or that it has
// not yet, between two moves of the clock.

#include "lock/manual_time.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

namespace dynalock::test {

/// What an operation completed with, once it has.
template <class... T>
struct outcome {
    std::optional<std::tuple<error_code, T...>> value;

    bool done() const { return value.has_value(); }
    error_code ec() const { return std::get<0>(*value); }
    template <std::size_t I = 1>
    auto& get() {
        return std::get<I>(*value);
    }
};

/// Calls `initiate` with a handler on `io` that fills in the outcome, then
/// settles `time`: what completes without the clock moving has completed.
template <class... T, class Initiate>
std::shared_ptr<outcome<T...>> start(boost::asio::io_context& io, manual_time& time,
                                     Initiate initiate) {
    auto out = std::make_shared<outcome<T...>>();
    initiate(boost::asio::bind_executor(
        io, [out](error_code ec, T... args) { out->value.emplace(ec, std::move(args)...); }));
    time.settle();
    return out;
}

}  // namespace dynalock::test
