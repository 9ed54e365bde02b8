#pragma once

// A store decorator for lock tests: it forwards every operation to a real
// store, logs what was asked and answered (with steady-clock times, so a test
// can tell when a client first saw a holder and when it sent its takeover),
// and can lose the response of one chosen write after the store applied it.
//
// That fault is a justified fake: no real server drops a response after
// committing on demand, yet it is exactly the ambiguous write (docs/design.md) the
// lock must resolve.

#include <dynalock/store.hpp>

#include <boost/asio/append.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace dynalock::test {

class faulty_store final : public store {
public:
    using clock = store::clock;

    /// One operation as the client saw it.
    struct event {
        enum class kind { write, read, list };
        kind type = kind::write;
        lock_write write{};  ///< for writes (and the key for reads)
        clock::time_point started{};
        std::optional<clock::time_point> completed{};
        error_code ec{};
        /// What the client was told of the item: the record written, the one
        /// that failed the condition, or the one read.
        std::optional<lock_record> record{};
        bool response_lost = false;  ///< applied, but reported as errc::timeout
    };

    explicit faulty_store(store& inner) : inner_(inner) {}

    executor_type get_executor() const override { return inner_.get_executor(); }

    /// The `nth` (1-based) write of `kind` from now on is applied by the real
    /// store and then reported as errc::timeout with no record.
    void lose_response_of(write_kind kind, std::size_t nth) {
        lost_kind_ = kind;
        lost_countdown_ = nth;
    }

    /// The next write of `kind` from now on is answered with `ec` (no
    /// record) without reaching the real store. Also a justified fake: a
    /// real server throttles or fails when it will, not when a test says
    /// (lock_faults_test throttles through a proxy, in real time).
    void fail_next(write_kind kind, error_code ec) { failing_.emplace(kind, ec); }

    /// Called as each operation starts, before the real store sees it: lets a
    /// test act at an exact point of a client's sequence (e.g. cancel it just
    /// as a request goes out, as if its answer and the cancellation crossed).
    std::function<void(const event&)> on_start{};

    /// The clock of the events' times: the client's (a manual one in
    /// scripted tests).
    std::function<clock::time_point()> now = [] { return clock::now(); };

    /// While set, answers are kept instead of delivered (the store applied
    /// the operation; the client hears nothing): a server gone silent.
    bool hold_answers = false;
    /// Delivers the answers kept so far, in order.
    void deliver_held() {
        for (auto& d : std::exchange(held_, {})) {
            d();
        }
    }
    std::size_t answers_held() const noexcept { return held_.size(); }

    /// Every operation started so far, oldest first. Stable references (a deque).
    const std::deque<event>& events() const noexcept { return events_; }
    std::size_t operations() const noexcept { return events_.size(); }

    std::size_t writes_of(write_kind k) const {
        std::size_t n = 0;
        for (const auto& e : events_) {
            n += e.type == event::kind::write && e.write.kind == k ? 1 : 0;
        }
        return n;
    }

    /// When the client was first told of an item carrying `record_version`.
    std::optional<clock::time_point> first_seen(const std::string& record_version) const {
        for (const auto& e : events_) {
            if (e.completed && e.record && e.record->record_version == record_version) {
                return e.completed;
            }
        }
        return std::nullopt;
    }

private:
    void started(std::size_t index) {
        if (on_start) {
            on_start(events_[index]);
        }
    }

    template <class Handler, class Deliver>
    auto forwarding(Handler& h, executor_type fallback, Deliver deliver) {
        namespace asio = boost::asio;
        auto slot = asio::get_associated_cancellation_slot(h);
        auto ex = asio::get_associated_executor(h, fallback);
        return asio::bind_cancellation_slot(
            slot,
            asio::bind_executor(ex, [this, h = std::move(h), deliver](auto&&... args) mutable {
                if (!hold_answers) {
                    deliver(std::move(h), std::forward<decltype(args)>(args)...);
                    return;
                }
                held_.push_back([h = std::make_shared<Handler>(std::move(h)), deliver,
                                 answer = std::tuple(std::forward<decltype(args)>(args)...)]() {
                    std::apply([&](auto&... a) { deliver(std::move(*h), std::move(a)...); },
                               answer);
                });
            }));
    }

    void do_write(lock_write&& w, clock::time_point deadline,
                  boost::asio::any_completion_handler<void(error_code, write_result)> h) override {
        events_.push_back({.type = event::kind::write, .write = w, .started = now()});
        const std::size_t index = events_.size() - 1;
        started(index);
        if (failing_ && failing_->first == w.kind) {
            const error_code ec = std::exchange(failing_, std::nullopt)->second;
            events_[index].completed = now();
            events_[index].ec = ec;
            // On the handler's own executor, as the real store would complete.
            boost::asio::post(get_executor(),
                              boost::asio::append(std::move(h), ec, write_result{}));
            return;
        }
        bool lose = false;
        if (lost_kind_ == w.kind && lost_countdown_ > 0 && --lost_countdown_ == 0) {
            lose = true;
            lost_kind_.reset();
        }
        inner_.async_write(
            std::move(w), deadline,
            forwarding(h, get_executor(),
                       [this, index, lose](auto handler, error_code ec, write_result r) {
                           event& e = events_[index];
                           e.completed = now();
                           if (lose && !ec) {
                               e.response_lost = true;
                               std::move(handler)(make_error_code(errc::timeout), write_result{});
                               return;
                           }
                           e.ec = ec;
                           e.record = r.record;
                           std::move(handler)(ec, std::move(r));
                       }));
    }

    void do_read(lock_key key, clock::time_point deadline,
                 boost::asio::any_completion_handler<void(error_code, std::optional<lock_record>)>
                     h) override {
        events_.push_back({.type = event::kind::read, .write = {.key = key}, .started = now()});
        const std::size_t index = events_.size() - 1;
        started(index);
        inner_.async_read(
            std::move(key), deadline,
            forwarding(h, get_executor(),
                       [this, index](auto handler, error_code ec, std::optional<lock_record> r) {
                           event& e = events_[index];
                           e.completed = now();
                           e.ec = ec;
                           e.record = r;
                           std::move(handler)(ec, std::move(r));
                       }));
    }

    void do_list(std::optional<std::string> partition, std::optional<lock_key> after,
                 clock::time_point deadline,
                 boost::asio::any_completion_handler<void(error_code, record_page)> h) override {
        events_.push_back({.type = event::kind::list, .started = now()});
        const std::size_t index = events_.size() - 1;
        started(index);
        inner_.async_list(std::move(partition), std::move(after), deadline,
                          forwarding(h, get_executor(),
                                     [this, index](auto handler, error_code ec, record_page page) {
                                         event& e = events_[index];
                                         e.completed = now();
                                         e.ec = ec;
                                         std::move(handler)(ec, std::move(page));
                                     }));
    }

    store& inner_;
    std::deque<event> events_;
    std::vector<std::function<void()>> held_;
    std::optional<std::pair<write_kind, error_code>> failing_;
    std::optional<write_kind> lost_kind_;
    std::size_t lost_countdown_ = 0;
};

}  // namespace dynalock::test
