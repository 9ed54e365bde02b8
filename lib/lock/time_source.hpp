#pragma once

// Time as the lock client's shell sees it: the current time and timers. In
// production the steady clock and Asio timers; in tests a clock the test
// moves by hand (test/lock/manual_time.hpp), so that tests of waits,
// heartbeats and expiry take no real time and cannot flake on a busy machine.
// The sans-io machines never read a clock: the shell tells them the time it
// reads here.

#include <dynalock/error.hpp>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>

#include <chrono>
#include <memory>

namespace dynalock::detail {

using steady_clock = std::chrono::steady_clock;

/// A one-shot timer of a time_source.
class timer {
public:
    virtual ~timer() = default;

    /// Completes with success at `at` (soon when it has passed), or with
    /// operation_aborted when cancelled: by `cancel()`, by another wait, or
    /// through the handler's cancellation slot (terminal). Signature:
    /// `void(error_code)`.
    template <boost::asio::completion_token_for<void(error_code)> Token>
    auto async_wait_until(steady_clock::time_point at, Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this, at](auto handler) { wait_until(at, std::move(handler)); }, token);
    }

    /// Ends a pending wait with operation_aborted; nothing when none is pending.
    virtual void cancel() = 0;

protected:
    virtual void wait_until(steady_clock::time_point at,
                            boost::asio::any_completion_handler<void(error_code)> h) = 0;
};

class time_source {
public:
    virtual ~time_source() = default;
    virtual steady_clock::time_point now() const = 0;
    /// A timer whose waits complete on `ex`.
    virtual std::unique_ptr<timer> make_timer(boost::asio::any_io_executor ex) = 0;
};

/// The steady clock and Asio's steady_timer.
std::shared_ptr<time_source> steady_time();

}  // namespace dynalock::detail
