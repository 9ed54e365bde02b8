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

/// Whether the caller asked the running operation to stop, given
/// `co_await boost::asio::this_coro::cancellation_state`, which reads the state
/// in place (no coroutine frame). Coroutines run by spawn_own_op do not throw
/// on cancellation (see there): their loops ask this.
inline bool cancelled(const boost::asio::cancellation_state& state) noexcept {
    return state.cancelled() != boost::asio::cancellation_type::none;
}

/// What a coroutine given to `spawn_own_op` awaits first: from then on it does
/// not throw on cancellation (see spawn_own_op).
inline constexpr auto no_throw_on_cancel = boost::asio::this_coro::throw_if_cancelled(false);

/// The error_code for an exception that ended a spawned coroutine. The
/// coroutines report every failure of input, network or server as an
/// error_code: only resource exhaustion (bad_alloc) or an Asio error thrown as
/// such gets here.
inline error_code thrown_error(const std::exception_ptr& e) {
    try {
        std::rethrow_exception(e);
    } catch (const boost::system::system_error& thrown) {
        return thrown.code();
    } catch (...) {
        return make_error_code(boost::system::errc::not_enough_memory);
    }
}

/// `f` as a completion handler whose cancellation slot is `slot` and which
/// names no executor, for co_spawn: a cancellation then reaches the coroutine
/// at once. With bind_cancellation_slot, Asio 1.81's co_spawn dispatches the
/// emission to the executor holding a pointer into the slot's handler, which
/// may be gone (the step ended, the slot reused) when it runs.
template <class F>
class slotted_handler {
public:
    slotted_handler(boost::asio::cancellation_slot slot, F f) : slot_(slot), f_(std::move(f)) {}

    using cancellation_slot_type = boost::asio::cancellation_slot;
    cancellation_slot_type get_cancellation_slot() const noexcept { return slot_; }

    template <class... Args>
    void operator()(Args&&... args) {
        std::move(f_)(std::forward<Args>(args)...);
    }

private:
    boost::asio::cancellation_slot slot_;
    F f_;
};

/// Spawns `op` on `ex`. The handler's cancellation slot reaches the coroutine
/// (per-operation cancellation); the handler runs on its associated executor.
///
/// The coroutine must not throw when cancelled (Asio's default is to throw):
/// an exception would unwind past its bookkeeping. Its pending operation
/// completes with `operation_aborted` instead, and its loops check
/// `cancelled(state)`. So its first statement is `co_await no_throw_on_cancel;`,
/// which it runs itself: `op` is the operation's own coroutine, with no
/// wrapper around it (a wrapper would cost a coroutine frame per operation).
template <class... T>
void spawn_own_op(const boost::asio::any_io_executor& ex,
                  boost::asio::awaitable<std::tuple<error_code, T...>> op,
                  boost::asio::any_completion_handler<void(error_code, T...)> handler) {
    namespace asio = boost::asio;
    auto slot = asio::get_associated_cancellation_slot(handler);
    auto handler_ex = completion_executor(handler, ex);
    asio::co_spawn(
        ex, std::move(op),
        asio::bind_cancellation_slot(
            slot, asio::bind_executor(
                      std::move(handler_ex),
                      [h = std::move(handler)](std::exception_ptr e,
                                               std::tuple<error_code, T...> result) mutable {
                          if (e) {
                              std::move(h)(thrown_error(e), T{}...);
                          } else {
                              std::apply(std::move(h), std::move(result));
                          }
                      })));
}

}  // namespace dynalock::detail
