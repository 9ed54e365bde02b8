#pragma once

// A clock the test moves by hand, for the lock client's shell: waits,
// heartbeats and expiry happen when the test says, at exactly the times it
// says, however slow the machine is. Everything else (store completions,
// coroutine steps) runs on the io_context between two moves of the clock.
//
// The clock starts an hour past the real steady clock, so that the deadlines
// the client computes from it never pass by themselves in a store that
// checks them against the real clock (memory_store).

#include "lock/time_source.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstdint>
#include <map>
#include <memory>

namespace dynalock::test {

class manual_time final : public detail::time_source,
                          public std::enable_shared_from_this<manual_time> {
public:
    using time_point = detail::steady_clock::time_point;
    using duration = detail::steady_clock::duration;

    explicit manual_time(boost::asio::io_context& io)
        : io_(io), now_(detail::steady_clock::now() + std::chrono::hours(1)) {}

    time_point now() const override { return now_; }

    std::unique_ptr<detail::timer> make_timer(boost::asio::any_io_executor ex) override {
        return std::make_unique<manual_timer>(shared_from_this(), std::move(ex));
    }

    /// Runs what is ready on the io_context now, until nothing is.
    void settle() {
        do {
            io_.restart();
        } while (io_.poll() != 0);
    }

    /// Moves the clock to `t`: to each pending wait's time in turn, firing
    /// it and settling, so that every step sees the time it was due at.
    void run_until(time_point t) {
        settle();
        while (!waits_.empty() && waits_.begin()->first.at <= t) {
            now_ = std::max(now_, waits_.begin()->first.at);
            while (!waits_.empty() && waits_.begin()->first.at <= now_) {
                fire(waits_.begin(), error_code{});
            }
            settle();
        }
        now_ = std::max(now_, t);
        settle();
    }

    void run_for(duration d) { run_until(now_ + d); }

    /// Waits pending now (a test can check that a client has nothing left).
    std::size_t pending_waits() const noexcept { return waits_.size(); }

private:
    struct wait_key {
        time_point at;
        std::uint64_t seq;
        friend bool operator<(const wait_key& a, const wait_key& b) {
            return a.at != b.at ? a.at < b.at : a.seq < b.seq;
        }
    };
    struct wait {
        boost::asio::any_io_executor ex;
        boost::asio::any_completion_handler<void(error_code)> handler;
        boost::asio::cancellation_slot slot;
        const void* owner;
    };
    using waits = std::map<wait_key, wait>;

    class manual_timer final : public detail::timer {
    public:
        manual_timer(std::shared_ptr<manual_time> t, boost::asio::any_io_executor ex)
            : time_(std::move(t)), ex_(std::move(ex)) {}
        ~manual_timer() override { cancel(); }

        void cancel() override { time_->cancel_all(this); }

    private:
        void wait_until(time_point at,
                        boost::asio::any_completion_handler<void(error_code)> h) override {
            cancel();  // one wait per timer, as with a steady_timer
            time_->add(at, ex_, std::move(h), this);
        }

        std::shared_ptr<manual_time> time_;
        boost::asio::any_io_executor ex_;
    };

    void add(time_point at, boost::asio::any_io_executor ex,
             boost::asio::any_completion_handler<void(error_code)> h, const void* owner) {
        auto slot = boost::asio::get_associated_cancellation_slot(h);
        const wait_key key{at, next_seq_++};
        waits_.emplace(key, wait{std::move(ex), std::move(h), slot, owner});
        if (slot.is_connected()) {
            slot.assign([self = weak_from_this(), key](boost::asio::cancellation_type) {
                if (auto t = self.lock()) {
                    if (auto it = t->waits_.find(key); it != t->waits_.end()) {
                        // The slot's own handler runs: it must not clear it.
                        it->second.slot = {};
                        t->fire(it, boost::asio::error::operation_aborted);
                    }
                }
            });
        }
    }

    void cancel_all(const void* owner) {
        for (auto it = waits_.begin(); it != waits_.end();) {
            auto here = it++;
            if (here->second.owner == owner) {
                fire(here, boost::asio::error::operation_aborted);
            }
        }
    }

    void fire(waits::iterator it, error_code ec) {
        wait w = std::move(it->second);
        waits_.erase(it);
        if (w.slot.is_connected()) {
            w.slot.clear();
        }
        boost::asio::post(w.ex, boost::asio::append(std::move(w.handler), ec));
    }

    boost::asio::io_context& io_;
    time_point now_;
    std::uint64_t next_seq_ = 0;
    waits waits_;
};

}  // namespace dynalock::test
