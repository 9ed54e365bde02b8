#pragma once

// Runs a coroutine as an asynchronous operation and completes a type-erased
// handler with its result: the bridge between the public initiating functions
// (completion tokens) and the coroutines in lib/ that implement them.

#include <dynalock/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <tuple>
#include <utility>

namespace dynalock::detail {

/// Spawns `op` on `ex`. The handler's cancellation slot reaches the coroutine
/// (per-operation cancellation); the handler runs on its associated executor.
template <class... T>
void spawn_op(boost::asio::any_io_executor ex,
              boost::asio::awaitable<std::tuple<error_code, T...>> op,
              boost::asio::any_completion_handler<void(error_code, T...)> handler) {
    namespace asio = boost::asio;
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto handler_ex = asio::get_associated_executor(handler, ex);
    asio::co_spawn(
        ex, std::move(op),
        asio::bind_cancellation_slot(
            slot, asio::bind_executor(handler_ex, [h = std::move(handler)](
                                                      std::exception_ptr e,
                                                      std::tuple<error_code, T...> result) mutable {
                if (e) {
                    // The coroutines report every failure of input, network
                    // or server as an error_code: only resource exhaustion
                    // (bad_alloc) can get here.
                    std::move(h)(make_error_code(boost::system::errc::not_enough_memory), T{}...);
                    return;
                }
                std::apply(std::move(h), std::move(result));
            })));
}

}  // namespace dynalock::detail
