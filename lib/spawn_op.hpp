#pragma once

// Runs a coroutine as an asynchronous operation and completes a type-erased
// handler with its result: the bridge between the public initiating functions
// (completion tokens) and the coroutines in lib/ that implement them.

#include "completion_executor.hpp"

#include <dynalock/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>

#include <exception>
#include <tuple>
#include <utility>

namespace dynalock::detail {

/// True once the caller asked the running operation to stop. Coroutines run by
/// spawn_op do not throw on cancellation (see below): their loops ask this.
inline boost::asio::awaitable<bool> cancelled() {
    const auto state = co_await boost::asio::this_coro::cancellation_state;
    co_return state.cancelled() != boost::asio::cancellation_type::none;
}

/// Spawns `op` on `ex`. The handler's cancellation slot reaches the coroutine
/// (per-operation cancellation); the handler runs on its associated executor.
///
/// The coroutine does not throw when cancelled (Asio's default): an exception
/// would unwind past its bookkeeping. Its pending operation completes with
/// `operation_aborted` instead, and its loops check `cancelled()`.
template <class... T>
void spawn_op(boost::asio::any_io_executor ex,
              boost::asio::awaitable<std::tuple<error_code, T...>> op,
              boost::asio::any_completion_handler<void(error_code, T...)> handler) {
    namespace asio = boost::asio;
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto handler_ex = completion_executor(handler, ex);
    auto run = [](asio::awaitable<std::tuple<error_code, T...>> op)
        -> asio::awaitable<std::tuple<error_code, T...>> {
        co_await asio::this_coro::throw_if_cancelled(false);
        co_return co_await std::move(op);
    };
    asio::co_spawn(
        ex, run(std::move(op)),
        asio::bind_cancellation_slot(
            slot, asio::bind_executor(handler_ex, [h = std::move(handler)](
                                                      std::exception_ptr e,
                                                      std::tuple<error_code, T...> result) mutable {
                if (e) {
                    // The coroutines report every failure of input, network
                    // or server as an error_code: only resource exhaustion
                    // (bad_alloc) or an Asio error thrown as such gets here.
                    error_code ec = make_error_code(boost::system::errc::not_enough_memory);
                    try {
                        std::rethrow_exception(e);
                    } catch (const boost::system::system_error& thrown) {
                        ec = thrown.code();
                    } catch (...) {
                    }
                    std::move(h)(ec, T{}...);
                    return;
                }
                std::apply(std::move(h), std::move(result));
            })));
}

}  // namespace dynalock::detail
