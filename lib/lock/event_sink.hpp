#pragma once

// Delivers lock events to lock_client_options::on_event from the executor's
// queue, never inline: the driver and the acquires raise them in the middle
// of updating their state, and a hook that calls back into the client (e.g.
// releases a lease) must find that state whole. Events raised together go
// out in one batch, in the order they were raised.

#include <dynalock/lock_event.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <vector>

namespace dynalock::detail {

class event_sink {
public:
    event_sink(boost::asio::any_io_executor ex, std::function<void(const lock_event&)> hook);

    /// Whether anyone listens: without a hook, callers build no event at all.
    explicit operator bool() const noexcept { return state_ != nullptr && !state_->stopped; }
    /// Queues `e`; the hook sees it from the executor's queue.
    void raise(lock_event e);
    /// Delivers nothing from now on, queued events included: the client is
    /// gone, and a hook may refer to it.
    void stop() noexcept;

private:
    struct state {
        boost::asio::any_io_executor ex;
        std::function<void(const lock_event&)> hook;
        std::vector<lock_event> queued;
        std::vector<lock_event> delivering;  // kept for its capacity
        bool posted = false;
        bool stopped = false;
    };
    static void deliver(const std::shared_ptr<state>& s);

    std::shared_ptr<state> state_;  // null without a hook
};

}  // namespace dynalock::detail
