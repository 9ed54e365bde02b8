// The lock client on a clock the test moves by hand (manual_time) and the
// memory store: every wait, heartbeat and expiry happens at the time the
// test says, so the timing rules are checked exactly and nothing depends on
// how fast the machine is. The same behaviours on real servers, in real
// time, are in lock_client_test.cpp.

#include "lock/faulty_store.hpp"
#include "lock/manual_time.hpp"
#include "lock/outcome.hpp"

#include <dynalock/lock_client.hpp>
#include <dynalock/memory_store.hpp>

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>

using namespace dynalock;
using test::outcome;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds lease_length = 1000ms;
constexpr milliseconds heartbeat = 250ms;
constexpr milliseconds margin = 100ms;
constexpr milliseconds poll = 50ms;

class scripted_lock_client : public ::testing::Test {
protected:
    struct party {
        std::unique_ptr<test::faulty_store> store;
        std::unique_ptr<lock_client> client;
    };

    lock_client_options options(std::string owner) const {
        return {.owner = std::move(owner),
                .lease = lease_length,
                .heartbeat_period = heartbeat,
                .safety_margin = margin,
                .poll_period = poll};
    }

    party& join(lock_client_options o) {
        auto p = std::make_unique<party>();
        p->store = std::make_unique<test::faulty_store>(store_);
        p->store->now = [t = time_] { return t->now(); };
        p->client = std::make_unique<lock_client>(*p->store, std::move(o), time_);
        parties_.push_back(std::move(p));
        return *parties_.back();
    }
    party& join(std::string owner) { return join(options(std::move(owner))); }

    void TearDown() override {
        for (auto& p : parties_) {
            if (p->client) {
                p->client->async_close([](error_code) {});
            }
        }
        time_->run_for(1s);
    }

    /// Starts an operation with a callback; its outcome fills in as the
    /// clock moves.
    template <class... T, class Initiate>
    std::shared_ptr<outcome<T...>> start(Initiate initiate) {
        return test::start<T...>(io_, *time_, std::move(initiate));
    }

    std::shared_ptr<outcome<lease>> acquire(lock_client& c, lock_key key, acquire_options o = {}) {
        return start<lease>([&](auto h) { c.async_acquire(key, std::move(o), std::move(h)); });
    }

    lease granted(lock_client& c, lock_key key, acquire_options o = {}) {
        auto out = acquire(c, std::move(key), std::move(o));
        EXPECT_TRUE(out->done());
        EXPECT_FALSE(out->ec()) << out->ec().message();
        return out->done() ? out->get() : lease{};
    }

    std::shared_ptr<outcome<>> release(lock_client& c, lease l) {
        return start<>([&](auto h) { c.async_release(std::move(l), std::move(h)); });
    }

    test::manual_time::time_point now() const { return time_->now(); }

    asio::io_context io_;
    std::shared_ptr<test::manual_time> time_ = std::make_shared<test::manual_time>(io_);
    memory_store store_{io_.get_executor()};
    std::vector<std::unique_ptr<party>> parties_;
};

// --- waiting out a holder -------------------------------------------------------

TEST_F(scripted_lock_client, a_silent_holder_is_taken_over_exactly_when_its_lease_has_passed) {
    party& a = join(lock_client_options{.owner = "silent",
                                        .lease = lease_length,
                                        .heartbeat_period = heartbeat,
                                        .safety_margin = margin,
                                        .poll_period = poll,
                                        .automatic_heartbeats = false});
    party& b = join("contender");
    const lease held = granted(*a.client, "job");
    const auto contender_started = now();
    auto taking = acquire(*b.client, "job", {.wait = 10s});
    // The contender first sees the holder's version at once (no time
    // passes in the memory store); it may take over only a lease later.
    time_->run_for(lease_length - 1ms);
    EXPECT_FALSE(taking->done()) << "taken over before the stored lease had passed";
    EXPECT_TRUE(held.expired()) << "the holder still believes after its local deadline";
    time_->run_for(poll + 1ms);
    ASSERT_TRUE(taking->done());
    EXPECT_FALSE(taking->ec()) << taking->ec().message();
    EXPECT_EQ(taking->get().fence(), 2u);
    EXPECT_GE(taking->get().acquired_at() - contender_started, lease_length);
    EXPECT_EQ(held.reason(), loss_reason::expired);
}

TEST_F(scripted_lock_client, a_heartbeating_holder_is_never_taken_over) {
    party& a = join("holder");
    party& b = join("contender");
    const lease held = granted(*a.client, "job");
    auto taking = acquire(*b.client, "job", {.wait = 20 * lease_length});
    time_->run_for(20 * lease_length + poll);
    ASSERT_TRUE(taking->done());
    EXPECT_EQ(taking->ec(), errc::lock_not_granted);
    EXPECT_TRUE(held.held());
    EXPECT_GE(a.store->writes_of(write_kind::refresh), 20 * (lease_length / heartbeat) / 2);
}

TEST_F(scripted_lock_client, a_release_hands_the_lock_to_a_waiting_acquirer_at_once) {
    party& a = join("holder");
    party& b = join("waiter");
    lease held = granted(*a.client, "job");
    auto taking = acquire(*b.client, "job", {.wait = 10s});
    time_->run_for(300ms);
    EXPECT_FALSE(taking->done());
    const auto released_at = now();
    auto released = release(*a.client, held);
    time_->run_for(poll);
    ASSERT_TRUE(released->done());
    EXPECT_FALSE(released->ec());
    ASSERT_TRUE(taking->done()) << "the waiter did not take the lock at its next poll";
    EXPECT_LE(taking->get().acquired_at() - released_at, poll);
}

TEST_F(scripted_lock_client, try_acquire_never_waits_but_uses_what_an_acquire_saw) {
    party& a = join(lock_client_options{.owner = "silent",
                                        .lease = lease_length,
                                        .heartbeat_period = heartbeat,
                                        .safety_margin = margin,
                                        .poll_period = poll,
                                        .automatic_heartbeats = false});
    party& b = join("contender");
    const lease held = granted(*a.client, "job");
    auto first = start<lease>([&](auto h) { b.client->async_try_acquire("job", std::move(h)); });
    ASSERT_TRUE(first->done());
    EXPECT_EQ(first->ec(), errc::lock_not_granted);
    // An acquire that gives up early still remembers when it first saw the
    // holder's version...
    auto short_wait = acquire(*b.client, "job", {.wait = 200ms});
    time_->run_for(200ms + poll);
    ASSERT_TRUE(short_wait->done());
    EXPECT_EQ(short_wait->ec(), errc::lock_not_granted);
    // ...so once a lease has passed since, try_acquire takes it at once.
    time_->run_for(lease_length);
    auto later = start<lease>([&](auto h) { b.client->async_try_acquire("job", std::move(h)); });
    ASSERT_TRUE(later->done());
    EXPECT_FALSE(later->ec()) << later->ec().message();
}

// --- losing a lease -------------------------------------------------------------

asio::awaitable<void> work_until_cancelled(error_code& woke_with) {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::hours(1));
    auto [ec] = co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
    woke_with = ec;
}

TEST_F(scripted_lock_client, a_changed_item_ends_the_lease_as_stolen_within_a_heartbeat_period) {
    party& a = join("holder");
    lease held = granted(*a.client, "job");
    error_code woke_with;
    auto bound = std::make_shared<outcome<>>();
    a.client->async_with_lease(
        held, work_until_cancelled(woke_with),
        [bound](std::exception_ptr, error_code ec) { bound->value.emplace(ec); });
    time_->settle();
    // Someone else writes the row (an operator, a client ignoring the lock).
    auto stolen = start<write_result>([&](auto h) {
        store_.async_write(lock_write{.key = "job",
                                      .kind = write_kind::grant,
                                      .condition = write_condition::version,
                                      .expected_version = held.record_version(),
                                      .owner = "thief",
                                      .new_version = "thief-version",
                                      .lease = 20s},
                           now() + 10s, std::move(h));
    });
    ASSERT_FALSE(stolen->ec()) << stolen->ec().message();
    const auto stolen_at = now();
    time_->run_for(heartbeat + heartbeat / 10);
    EXPECT_EQ(held.reason(), loss_reason::stolen);
    ASSERT_TRUE(bound->done());
    EXPECT_EQ(bound->ec(), errc::lease_lost);
    EXPECT_EQ(woke_with, asio::error::operation_aborted);
    EXPECT_LE(now() - stolen_at, heartbeat + heartbeat / 10);
}

TEST_F(scripted_lock_client, a_heartbeat_whose_answer_never_comes_ends_the_lease_at_its_deadline) {
    party& a = join("holder");
    lease held = granted(*a.client, "job");
    const auto deadline = held.deadline();
    a.store->hold_answers = true;  // the server goes silent after the grant
    auto lost = start<loss_reason>([&](auto h) { held.async_wait_lost(std::move(h)); });
    time_->run_until(deadline - 1ms);
    EXPECT_FALSE(lost->done());
    EXPECT_TRUE(held.held());
    time_->run_until(deadline);
    ASSERT_TRUE(lost->done());
    EXPECT_EQ(lost->get(), loss_reason::expired);
    EXPECT_FALSE(held.held());
}

TEST_F(scripted_lock_client, a_heartbeat_whose_answer_was_lost_keeps_the_lease) {
    party& a = join("holder");
    lease held = granted(*a.client, "job");
    a.store->lose_response_of(write_kind::refresh, 2);
    time_->run_for(4 * heartbeat + heartbeat / 2);
    EXPECT_TRUE(held.held()) << to_string(held.reason());
    EXPECT_GE(a.store->writes_of(write_kind::refresh), 4u);
}

TEST_F(scripted_lock_client, the_danger_callback_comes_before_the_deadline_when_heartbeats_fail) {
    std::optional<test::manual_time::time_point> warned_at;
    lock_client_options o = options("holder");
    o.danger_zone = 300ms;
    o.on_event = [&](const lock_event& e) {
        if (e.kind == lock_event_kind::danger) {
            warned_at = now();
        }
    };
    party& a = join(std::move(o));
    lease held = granted(*a.client, "job");
    a.store->hold_answers = true;
    time_->run_until(held.deadline());
    ASSERT_TRUE(warned_at.has_value());
    EXPECT_EQ(held.deadline() - *warned_at, 300ms);
}

// --- waiting for the end of a lease ------------------------------------------------

TEST_F(scripted_lock_client, a_cancelled_wait_for_the_loss_leaves_the_other_waiters_alone) {
    party& a = join("holder");
    lease held = granted(*a.client, "job");
    std::vector<std::shared_ptr<outcome<loss_reason>>> waits;
    asio::cancellation_signal cancel_middle;
    for (int i = 0; i < 3; ++i) {
        auto out = std::make_shared<outcome<loss_reason>>();
        auto h = [out](error_code ec, loss_reason r) { out->value.emplace(ec, r); };
        if (i == 1) {
            held.async_wait_lost(asio::bind_cancellation_slot(cancel_middle.slot(), h));
        } else {
            held.async_wait_lost(h);
        }
        waits.push_back(out);
    }
    time_->settle();
    cancel_middle.emit(asio::cancellation_type::terminal);
    time_->settle();
    ASSERT_TRUE(waits[1]->done());
    EXPECT_EQ(waits[1]->ec(), asio::error::operation_aborted);
    EXPECT_FALSE(waits[0]->done());
    EXPECT_FALSE(waits[2]->done());
    auto released = release(*a.client, held);
    time_->settle();
    for (int i : {0, 2}) {
        ASSERT_TRUE(waits[i]->done()) << i;
        EXPECT_FALSE(waits[i]->ec()) << i;
        EXPECT_EQ(waits[i]->get(), loss_reason::released) << i;
    }
    // A cancellation after the wait completed reaches nothing.
    cancel_middle.emit(asio::cancellation_type::terminal);
    time_->settle();
}

TEST_F(scripted_lock_client, a_cancellation_after_the_wait_completed_does_nothing) {
    party& a = join("holder");
    lease held = granted(*a.client, "job");
    asio::cancellation_signal cancel;
    auto out = std::make_shared<outcome<loss_reason>>();
    held.async_wait_lost(asio::bind_cancellation_slot(
        cancel.slot(), [out](error_code ec, loss_reason r) { out->value.emplace(ec, r); }));
    release(*a.client, held);
    time_->settle();
    ASSERT_TRUE(out->done());
    EXPECT_EQ(out->get(), loss_reason::released);
    // The lease let go of the slot on completion: emitting now reaches
    // nothing (ASan would see a use of freed state), also once the lease
    // and its client are gone.
    cancel.emit(asio::cancellation_type::terminal);
    held = lease{};
    a.client.reset();
    time_->settle();
    cancel.emit(asio::cancellation_type::terminal);
    time_->settle();
    EXPECT_FALSE(out->ec());
}

// --- work bound to a lease -------------------------------------------------------

TEST_F(scripted_lock_client,
       the_callers_cancellation_reaches_bound_work_and_the_lease_is_released) {
    party& a = join("holder");
    lease held = granted(*a.client, "job");
    error_code woke_with;
    asio::cancellation_signal cancel;
    auto bound = std::make_shared<outcome<>>();
    a.client->async_with_lease(
        held, work_until_cancelled(woke_with),
        asio::bind_cancellation_slot(cancel.slot(), [bound](std::exception_ptr e, error_code ec) {
            EXPECT_FALSE(e);
            bound->value.emplace(ec);
        }));
    time_->settle();
    cancel.emit(asio::cancellation_type::terminal);
    time_->settle();
    EXPECT_EQ(woke_with, asio::error::operation_aborted);
    ASSERT_TRUE(bound->done());
    EXPECT_EQ(bound->ec(), asio::error::operation_aborted);
    EXPECT_EQ(held.reason(), loss_reason::released);
}

TEST_F(scripted_lock_client, a_release_ends_belief_and_bound_work_before_its_write_is_answered) {
    party& a = join("holder");
    party& b = join("next");
    lease held = granted(*a.client, "job");
    error_code woke_with;
    auto bound = std::make_shared<outcome<>>();
    a.client->async_with_lease(
        held, work_until_cancelled(woke_with),
        [bound](std::exception_ptr, error_code ec) { bound->value.emplace(ec); });
    time_->settle();
    // The release applies at once; its answer is slow: the lock is free for
    // others from the moment it applied.
    a.store->hold_answers = true;
    auto released = release(*a.client, held);
    auto next = start<lease>([&](auto h) { b.client->async_try_acquire("job", std::move(h)); });
    ASSERT_TRUE(next->done());
    ASSERT_FALSE(next->ec()) << next->ec().message();
    EXPECT_FALSE(held.held()) << "the releaser still believes it holds a lock another holds";
    EXPECT_EQ(woke_with, asio::error::operation_aborted) << "the work on it still runs";
    a.store->hold_answers = false;
    a.store->deliver_held();
    time_->settle();
    ASSERT_TRUE(released->done());
    EXPECT_FALSE(released->ec()) << released->ec().message();
    EXPECT_EQ(held.reason(), loss_reason::released);
    ASSERT_TRUE(bound->done());
    EXPECT_EQ(bound->ec(), errc::lease_lost);
    EXPECT_EQ(a.store->operations(), 2u) << "released twice";  // the grant, the release
}

asio::awaitable<void> work_that_throws_after(test::manual_time& time, milliseconds after) {
    auto t = time.make_timer(co_await asio::this_coro::executor);
    co_await t->async_wait_until(time.now() + after, asio::use_awaitable);
    throw std::runtime_error("the work failed");
}

TEST_F(scripted_lock_client, an_exception_of_bound_work_reaches_the_caller_even_after_a_loss) {
    party& a = join("holder");
    lease held = granted(*a.client, "job");
    a.store->hold_answers = true;  // the lease will expire...
    std::exception_ptr failure;
    auto bound = std::make_shared<outcome<>>();
    // ...while the work ignores cancellation and then fails on its own.
    auto work = [&]() -> asio::awaitable<void> {
        co_await asio::this_coro::reset_cancellation_state(asio::disable_cancellation());
        co_await work_that_throws_after(*time_, 2 * lease_length);
    };
    a.client->async_with_lease(held, work(),
                               [&failure, bound](std::exception_ptr e, error_code ec) {
                                   failure = e;
                                   bound->value.emplace(ec);
                               });
    time_->run_for(3 * lease_length);
    ASSERT_TRUE(bound->done());
    EXPECT_EQ(held.reason(), loss_reason::expired);
    ASSERT_TRUE(failure) << "the work's exception was swallowed";
    EXPECT_THROW(std::rethrow_exception(failure), std::runtime_error);
}

// --- the bound on requests in flight ------------------------------------------------

TEST_F(scripted_lock_client, acquires_share_the_bound_and_every_heartbeat_due_goes_first) {
    lock_client_options o = options("busy");
    o.max_in_flight = 1;
    party& p = join(std::move(o));
    const lease held = granted(*p.client, "held");
    p.store->hold_answers = true;  // each request sent stays in flight until delivered
    time_->run_for(heartbeat);
    ASSERT_EQ(p.store->writes_of(write_kind::refresh), 1u);
    const auto grants = [&] { return p.store->writes_of(write_kind::grant) - 1; };  // not held's

    auto first = acquire(*p.client, "first");
    auto second = acquire(*p.client, "second");
    EXPECT_EQ(grants(), 0u) << "the one slot is the heartbeat's";
    p.store->deliver_held();
    time_->settle();
    EXPECT_EQ(grants(), 1u) << "the first acquire takes the slot";

    time_->run_for(heartbeat);  // the next heartbeat falls due while the grant is out
    EXPECT_EQ(p.store->writes_of(write_kind::refresh), 1u);
    p.store->deliver_held();
    time_->settle();
    ASSERT_TRUE(first->done());
    EXPECT_FALSE(first->ec()) << first->ec().message();
    EXPECT_EQ(p.store->writes_of(write_kind::refresh), 2u) << "the heartbeat due goes first";
    EXPECT_EQ(grants(), 1u) << "the second acquire still waits";

    p.store->hold_answers = false;
    p.store->deliver_held();
    time_->settle();
    ASSERT_TRUE(second->done());
    EXPECT_FALSE(second->ec()) << second->ec().message();
    EXPECT_TRUE(held.held());
}

TEST_F(scripted_lock_client, an_acquire_that_never_gets_a_slot_times_out_having_sent_nothing) {
    lock_client_options o = options("busy");
    o.max_in_flight = 1;
    o.request_timeout = 200ms;
    party& p = join(std::move(o));
    const lease held = granted(*p.client, "held");
    p.store->hold_answers = true;  // the heartbeat keeps the slot: the server went silent
    time_->run_for(heartbeat);
    ASSERT_EQ(p.store->writes_of(write_kind::refresh), 1u);
    const std::size_t requests = p.store->events().size();

    const auto started = now();
    auto taking = start<lease>([&](auto h) { p.client->async_try_acquire("other", std::move(h)); });
    time_->run_for(1s);
    ASSERT_TRUE(taking->done());
    EXPECT_EQ(taking->ec(), errc::timeout) << taking->ec().message();
    EXPECT_EQ(p.store->events().size(), requests) << "nothing was sent for the acquire";
    EXPECT_LE(now() - started, 1s);

    auto cancelled = std::make_shared<outcome<lease>>();
    asio::cancellation_signal cancel;
    p.client->async_acquire(
        "other", {.wait = 10s},
        asio::bind_cancellation_slot(cancel.slot(),
                                     asio::bind_executor(io_, [cancelled](error_code ec, lease l) {
                                         cancelled->value.emplace(ec, std::move(l));
                                     })));
    time_->settle();
    EXPECT_FALSE(cancelled->done());
    cancel.emit(asio::cancellation_type::terminal);
    time_->settle();
    ASSERT_TRUE(cancelled->done()) << "a wait for a slot ends when cancelled";
    EXPECT_EQ(cancelled->ec(), asio::error::operation_aborted) << cancelled->ec().message();
    EXPECT_EQ(p.store->events().size(), requests);
    p.store->hold_answers = false;
    p.store->deliver_held();
    time_->settle();
}

// --- operations on an empty lease ------------------------------------------------

TEST_F(scripted_lock_client, every_operation_on_an_empty_lease_completes_with_invalid_argument) {
    party& a = join("holder");
    lease empty;
    EXPECT_TRUE(empty.empty());
    EXPECT_FALSE(empty.held());
    auto waited = std::make_shared<outcome<loss_reason>>();
    auto beat = std::make_shared<outcome<>>();
    auto released = std::make_shared<outcome<>>();
    auto bound = std::make_shared<outcome<>>();
    auto run = [&]() -> asio::awaitable<void> {
        auto [wec, r] = co_await empty.async_wait_lost(asio::as_tuple(asio::deferred));
        waited->value.emplace(wec, r);
        auto [hec] = co_await empty.async_heartbeat(asio::as_tuple(asio::deferred));
        beat->value.emplace(hec);
        auto [rec] = co_await a.client->async_release(empty, asio::as_tuple(asio::deferred));
        released->value.emplace(rec);
        auto [e, bec] = co_await a.client->async_with_lease(
            empty, []() -> asio::awaitable<void> { co_return; }(),
            asio::as_tuple(asio::use_awaitable));
        bound->value.emplace(bec);
    };
    asio::co_spawn(io_, run(), asio::detached);
    time_->settle();
    ASSERT_TRUE(waited->done() && beat->done() && released->done() && bound->done());
    EXPECT_EQ(waited->ec(), errc::invalid_argument);
    EXPECT_EQ(beat->ec(), errc::invalid_argument);
    EXPECT_EQ(released->ec(), errc::invalid_argument);
    EXPECT_EQ(bound->ec(), errc::invalid_argument);
}

// --- cancelling and closing ------------------------------------------------------

TEST_F(scripted_lock_client, a_cancelled_acquire_stops_at_once_and_sends_nothing_more) {
    party& a = join("holder");
    party& b = join("waiter");
    const lease held = granted(*a.client, "job");
    asio::cancellation_signal cancel;
    auto out = std::make_shared<outcome<lease>>();
    b.client->async_acquire(
        "job", {.wait = 10s},
        asio::bind_cancellation_slot(cancel.slot(), [out](error_code ec, lease l) {
            out->value.emplace(ec, std::move(l));
        }));
    time_->run_for(200ms + poll / 2);
    const std::size_t sent = b.store->operations();
    cancel.emit(asio::cancellation_type::terminal);
    time_->settle();
    ASSERT_TRUE(out->done()) << "the cancelled acquire did not complete at once";
    EXPECT_EQ(out->ec(), asio::error::operation_aborted);
    EXPECT_TRUE(out->get().empty());
    time_->run_for(4 * poll);
    EXPECT_EQ(b.store->operations(), sent) << "the cancelled acquire kept polling";
}

TEST_F(scripted_lock_client, close_releases_every_lease_and_does_not_wait_out_a_polling_acquire) {
    party& a = join("holder");
    party& b = join("closing");
    const lease held = granted(*a.client, "busy");
    lease mine = granted(*b.client, "mine");
    auto waiting = acquire(*b.client, "busy", {.wait = 10s});
    time_->run_for(2 * poll);
    auto closed = start<>([&](auto h) { b.client->async_close(std::move(h)); });
    time_->settle();
    ASSERT_TRUE(closed->done()) << "close waited for something";
    EXPECT_FALSE(closed->ec());
    ASSERT_TRUE(waiting->done());
    EXPECT_EQ(waiting->ec(), errc::client_closed);
    EXPECT_EQ(mine.reason(), loss_reason::client_closed);
    auto later = acquire(*b.client, "other");
    ASSERT_TRUE(later->done());
    EXPECT_EQ(later->ec(), errc::client_closed);
    auto row = start<std::optional<lock_record>>(
        [&](auto h) { store_.async_read("mine", now() + 1s, std::move(h)); });
    ASSERT_TRUE(row->get().has_value());
    EXPECT_TRUE(row->get()->released);
}

TEST_F(scripted_lock_client, destroying_a_client_ends_its_leases_here_and_sends_nothing) {
    party& a = join("holder");
    party& b = join("contender");
    lease l1 = granted(*a.client, "one");
    lease l2 = granted(*a.client, "two");
    error_code woke_with;
    auto bound = std::make_shared<outcome<>>();
    a.client->async_with_lease(
        l1, work_until_cancelled(woke_with),
        [bound](std::exception_ptr, error_code ec) { bound->value.emplace(ec); });
    auto lost = start<loss_reason>([&](auto h) { l2.async_wait_lost(std::move(h)); });
    lease theirs = granted(*b.client, "busy");
    auto polling = acquire(*a.client, "busy", {.wait = 10s});
    // A heartbeat goes out and its answer is still on the way.
    a.store->hold_answers = true;
    time_->run_for(heartbeat);
    ASSERT_GT(a.store->answers_held(), 0u);
    const std::size_t sent = a.store->operations();

    a.client.reset();  // no async_close
    time_->settle();
    EXPECT_EQ(l1.reason(), loss_reason::client_closed);
    EXPECT_EQ(l2.reason(), loss_reason::client_closed);
    ASSERT_TRUE(lost->done());
    EXPECT_EQ(lost->get(), loss_reason::client_closed);
    ASSERT_TRUE(bound->done());
    EXPECT_EQ(woke_with, asio::error::operation_aborted);
    // Answers in flight arrive into a client that is gone; the acquire that
    // was reading then ends without sending anything more.
    a.store->hold_answers = false;
    a.store->deliver_held();
    time_->settle();
    ASSERT_TRUE(polling->done());
    EXPECT_EQ(polling->ec(), errc::client_closed);
    time_->run_for(2 * lease_length);
    EXPECT_EQ(a.store->operations(), sent) << "a destroyed client sent a request";
    // Its items were not released: they expire after their lease.
    auto row = start<std::optional<lock_record>>(
        [&](auto h) { store_.async_read("one", now() + 1s, std::move(h)); });
    ASSERT_TRUE(row->get().has_value());
    EXPECT_FALSE(row->get()->released);
    auto taken = acquire(*b.client, "one", {.wait = 5s});
    time_->run_for(lease_length + poll);
    ASSERT_TRUE(taken->done());
    EXPECT_FALSE(taken->ec()) << taken->ec().message();
    EXPECT_FALSE(l1.held());
    auto after = start<loss_reason>([&](auto h) { l1.async_wait_lost(std::move(h)); });
    ASSERT_TRUE(after->done());
    EXPECT_EQ(after->get(), loss_reason::client_closed);
    static_cast<void>(theirs);
}

TEST_F(scripted_lock_client, a_manual_heartbeat_can_change_the_lease) {
    party& a = join("holder");
    lease held = granted(*a.client, "job");
    const auto sent_at = now();
    auto beat = start<>([&](auto h) { held.async_heartbeat(3000ms, std::nullopt, std::move(h)); });
    ASSERT_TRUE(beat->done());
    EXPECT_FALSE(beat->ec()) << beat->ec().message();
    EXPECT_EQ(held.duration(), 3000ms);
    EXPECT_EQ(held.deadline(), sent_at + 3000ms - margin);
    auto refused = start<>([&](auto h) { held.async_heartbeat(1ms, std::nullopt, std::move(h)); });
    ASSERT_TRUE(refused->done());
    EXPECT_EQ(refused->ec(), errc::invalid_argument);
}

// --- sessions (docs/sessions.md) ----------------------------------------------------

class scripted_sessions : public scripted_lock_client {
protected:
    session open_session(lock_client& c) {
        auto out = start<session>([&](auto h) { c.async_open_session(std::move(h)); });
        EXPECT_TRUE(out->done());
        EXPECT_FALSE(out->ec()) << out->ec().message();
        return out->done() ? out->get() : session{};
    }

    std::vector<lease> acquire_under(lock_client& c, const session& s, int n,
                                     const std::string& prefix = "shard-") {
        std::vector<lease> out;
        for (int i = 0; i < n; ++i) {
            out.push_back(granted(c, prefix + std::to_string(i), {.session = s}));
        }
        return out;
    }

    std::size_t writes_to(const test::faulty_store& st, const lock_key& key) const {
        std::size_t n = 0;
        for (const auto& e : st.events()) {
            n += e.type == test::faulty_store::event::kind::write && e.write.key == key ? 1 : 0;
        }
        return n;
    }
};

TEST_F(scripted_sessions, one_heartbeat_keeps_every_lock_of_a_session) {
    party& a = join("worker");
    const session s = open_session(*a.client);
    ASSERT_FALSE(s.empty());
    EXPECT_EQ(s.epoch(), 1u);
    const std::vector<lease> locks = acquire_under(*a.client, s, 100);
    const std::size_t after_acquire = a.store->operations();
    time_->run_for(10 * lease_length);
    // Only the session's item was written: its heartbeats.
    const std::size_t during_hold = a.store->operations() - after_acquire;
    EXPECT_EQ(during_hold, writes_to(*a.store, s.key()) - 1);  // minus its grant
    EXPECT_GE(during_hold, 10 * (lease_length / heartbeat) * 9 / 10);
    EXPECT_LE(during_hold, 10 * (lease_length / heartbeat) * 11 / 10 + 2);
    for (const lease& l : locks) {
        EXPECT_TRUE(l.held());
        EXPECT_EQ(l.deadline(), s.deadline());
        EXPECT_EQ(l.duration(), lease_length);
        ASSERT_TRUE(l.bound_session().has_value());
        EXPECT_EQ(l.bound_session()->key, s.key());
    }
    EXPECT_EQ(s.stats().held_locks, 100u);
    EXPECT_GE(s.stats().heartbeats, 30u);
    // Counts of locks leave the session out; it has its own.
    const lock_client_stats st = a.client->stats();
    EXPECT_EQ(st.held, 100u);
    EXPECT_EQ(st.acquired, 100u);
    EXPECT_EQ(st.sessions, 1u);
    EXPECT_EQ(st.sessions_opened, 1u);
    EXPECT_EQ(st.sessions_lost, 0u);
}

TEST_F(scripted_sessions, a_dead_workers_locks_are_taken_after_one_session_lease_by_one_kill) {
    party& a = join("dead");
    party& b = join("taker");
    const session s = open_session(*a.client);
    const std::vector<lease> theirs = acquire_under(*a.client, s, 50);
    a.client.reset();  // the worker dies: nothing more is sent for it
    const auto died_at = now();
    auto first = acquire(*b.client, "shard-0", {.wait = 10s});
    time_->run_for(lease_length - 1ms);
    EXPECT_FALSE(first->done()) << "taken before the session stood still for its lease";
    time_->run_for(poll + 1ms);
    ASSERT_TRUE(first->done());
    ASSERT_FALSE(first->ec()) << first->ec().message();
    EXPECT_EQ(first->get().fence(), 2u);
    EXPECT_GE(first->get().acquired_at() - died_at, lease_length);
    // The one kill freed them all: the rest are taken at once, each with one
    // write (the grant names the ended session).
    const std::size_t before_rest = b.store->operations();
    for (int i = 1; i < 50; ++i) {
        auto rest = start<lease>([&](auto h) {
            b.client->async_try_acquire("shard-" + std::to_string(i), std::move(h));
        });
        ASSERT_TRUE(rest->done());
        ASSERT_FALSE(rest->ec()) << i << ": " << rest->ec().message();
        EXPECT_EQ(rest->get().fence(), 2u);
    }
    EXPECT_EQ(b.store->operations() - before_rest, 49u);
    EXPECT_EQ(writes_to(*b.store, s.key()), 1u) << "more than one write ended the session";
    EXPECT_EQ(b.client->stats().session_kills, 1u);
}

TEST_F(scripted_sessions, many_waiting_contenders_read_the_session_once_per_poll) {
    party& a = join("holder");
    party& b = join("contenders");
    const session s = open_session(*a.client);
    acquire_under(*a.client, s, 200);
    std::vector<std::shared_ptr<outcome<lease>>> waits;
    for (int i = 0; i < 200; ++i) {
        waits.push_back(acquire(*b.client, "shard-" + std::to_string(i), {.wait = 2 * poll}));
    }
    const std::size_t reads_before = b.store->operations();
    time_->run_for(2 * poll + 1ms);
    std::size_t session_reads = 0;
    for (const auto& e : b.store->events()) {
        session_reads +=
            e.type == test::faulty_store::event::kind::read && e.write.key == s.key() ? 1 : 0;
    }
    EXPECT_LE(session_reads, 4u) << "the session was read for each lock";
    EXPECT_LE(b.store->operations() - reads_before, 200u + 4u);
    for (const auto& w : waits) {
        ASSERT_TRUE(w->done());
        EXPECT_EQ(w->ec(), errc::lock_not_granted);
    }
}

TEST_F(scripted_sessions, closing_a_session_frees_all_its_locks_with_one_write) {
    party& a = join("worker");
    party& b = join("next");
    const session s = open_session(*a.client);
    std::vector<lease> locks = acquire_under(*a.client, s, 50);
    const std::size_t before = a.store->operations();
    auto closed = start<>([&](auto h) { a.client->async_close_session(s, std::move(h)); });
    ASSERT_TRUE(closed->done());
    EXPECT_FALSE(closed->ec()) << closed->ec().message();
    EXPECT_EQ(a.store->operations() - before, 1u);
    EXPECT_EQ(s.reason(), loss_reason::released);
    for (const lease& l : locks) {
        EXPECT_EQ(l.reason(), loss_reason::released);
    }
    EXPECT_EQ(a.client->stats().held, 0u);
    for (int i = 0; i < 50; ++i) {
        auto next = start<lease>([&](auto h) {
            b.client->async_try_acquire("shard-" + std::to_string(i), std::move(h));
        });
        ASSERT_TRUE(next->done());
        EXPECT_FALSE(next->ec()) << i << ": " << next->ec().message();
    }
}

TEST_F(scripted_sessions, an_expired_session_ends_its_locks_and_cancels_their_work) {
    party& a = join("worker");
    const session s = open_session(*a.client);
    lease l = granted(*a.client, "job", {.session = s});
    error_code woke_with;
    auto bound = std::make_shared<outcome<>>();
    a.client->async_with_lease(
        l, work_until_cancelled(woke_with),
        [bound](std::exception_ptr, error_code ec) { bound->value.emplace(ec); });
    a.store->hold_answers = true;  // the session's heartbeats get no answer
    time_->run_until(s.deadline());
    EXPECT_EQ(s.reason(), loss_reason::expired);
    EXPECT_EQ(l.reason(), loss_reason::expired);
    ASSERT_TRUE(bound->done());
    EXPECT_EQ(bound->ec(), errc::lease_lost);
    EXPECT_EQ(woke_with, asio::error::operation_aborted);
    const lock_client_stats st = a.client->stats();
    EXPECT_EQ(st.lost_expired, 1u);  // the lock, not its session
    EXPECT_EQ(st.sessions_lost, 1u);
    EXPECT_EQ(st.sessions, 0u);
}

TEST_F(scripted_sessions, closing_a_session_stops_the_work_on_its_locks_before_others_take_them) {
    party& a = join("worker");
    party& b = join("next");
    const session s = open_session(*a.client);
    lease l = granted(*a.client, "job", {.session = s});
    error_code woke_with;
    auto bound = std::make_shared<outcome<>>();
    a.client->async_with_lease(
        l, work_until_cancelled(woke_with),
        [bound](std::exception_ptr, error_code ec) { bound->value.emplace(ec); });
    time_->settle();
    // The closing write applies at once; its answer is slow (a trickling
    // network): the lock is free for others from the moment it applied.
    a.store->hold_answers = true;
    auto closed = start<>([&](auto h) { a.client->async_close_session(s, std::move(h)); });
    auto next = start<lease>([&](auto h) { b.client->async_try_acquire("job", std::move(h)); });
    ASSERT_TRUE(next->done());
    ASSERT_FALSE(next->ec()) << next->ec().message();
    EXPECT_FALSE(l.held()) << "the closer still believes it holds a lock another holds";
    EXPECT_EQ(woke_with, asio::error::operation_aborted) << "the work on it still runs";
    auto under_closing = acquire(*a.client, "other", {.session = s});
    ASSERT_TRUE(under_closing->done());
    EXPECT_EQ(under_closing->ec(), errc::lease_lost);
    a.store->hold_answers = false;
    a.store->deliver_held();
    time_->settle();
    ASSERT_TRUE(closed->done());
    EXPECT_FALSE(closed->ec()) << closed->ec().message();
    EXPECT_EQ(l.reason(), loss_reason::released);
    ASSERT_TRUE(bound->done());
    EXPECT_EQ(bound->ec(), errc::lease_lost);
    EXPECT_EQ(writes_to(*a.store, "job"), 1u) << "the lock was released on its own too";
}

TEST_F(scripted_sessions, one_lock_released_alone_leaves_the_session_and_the_others) {
    party& a = join("worker");
    const session s = open_session(*a.client);
    std::vector<lease> locks = acquire_under(*a.client, s, 3);
    const std::size_t before = a.store->operations();
    auto released = release(*a.client, locks[1]);
    ASSERT_TRUE(released->done());
    EXPECT_FALSE(released->ec()) << released->ec().message();
    EXPECT_EQ(a.store->operations() - before, 1u);
    EXPECT_EQ(locks[1].reason(), loss_reason::released);
    EXPECT_TRUE(locks[0].held());
    EXPECT_TRUE(locks[2].held());
    EXPECT_EQ(s.stats().held_locks, 2u);
    time_->run_for(3 * lease_length);
    EXPECT_TRUE(locks[0].held());
}

TEST_F(scripted_sessions, a_grant_that_comes_back_after_the_sessions_deadline_is_born_lost) {
    party& a = join("worker");
    party& b = join("next");
    const session s = open_session(*a.client);
    a.store->hold_answers = true;
    auto late = acquire(*a.client, "job", {.session = s});
    time_->run_until(s.deadline() + 1ms);
    EXPECT_EQ(s.reason(), loss_reason::expired);
    a.store->hold_answers = false;
    a.store->deliver_held();
    time_->settle();
    ASSERT_TRUE(late->done());
    EXPECT_EQ(late->ec(), errc::lease_lost);
    // Nobody believes it: another takes it once the session is seen dead.
    auto next = acquire(*b.client, "job", {.wait = 10s});
    time_->run_for(lease_length + poll);
    ASSERT_TRUE(next->done());
    EXPECT_FALSE(next->ec()) << next->ec().message();
}

// Found by the torture test: a session closed while acquire_many still waited
// for a held key. The key granted under it before the close was handed over
// as granted, though others could take it (and did) once the session ended.
TEST_F(scripted_sessions, acquire_many_hands_over_no_lease_that_ended_before_it_completed) {
    party& a = join("worker");
    party& b = join("other");
    const lease busy = granted(*b.client, "busy");
    const session s = open_session(*a.client);
    auto many = start<acquire_many_result>([&](auto h) {
        a.client->async_acquire_many(
            {"free", "busy"},
            {.concurrency = 2, .wait = true, .each = {.wait = 2 * lease_length, .session = s}},
            std::move(h));
    });
    time_->run_for(poll);
    ASSERT_FALSE(many->done());
    EXPECT_EQ(s.stats().held_locks, 1u);
    auto closed = start<>([&](auto h) { a.client->async_close_session(s, std::move(h)); });
    ASSERT_TRUE(closed->done());
    time_->run_for(3 * lease_length);
    ASSERT_TRUE(many->done());
    EXPECT_TRUE(many->get().granted.empty());
    ASSERT_EQ(many->get().refused.size(), 2u);
    for (const auto& r : many->get().refused) {
        if (r.key == lock_key{"free"}) {
            EXPECT_EQ(r.error, errc::lease_lost);
            EXPECT_NE(r.message.find("released"), std::string::npos) << r.message;
        } else {
            EXPECT_EQ(r.error, errc::lock_not_granted);
        }
    }
    EXPECT_TRUE(busy.held());
}

TEST_F(scripted_sessions, the_default_session_holds_every_acquire_and_is_reopened_after_it_ends) {
    lock_client_options o = options("worker");
    o.default_session = true;
    party& a = join(std::move(o));
    EXPECT_TRUE(a.client->default_session().empty());
    auto many = start<acquire_many_result>([&](auto h) {
        a.client->async_acquire_many({"a", "b", "c", "d"}, {.concurrency = 4}, std::move(h));
    });
    ASSERT_TRUE(many->done());
    ASSERT_EQ(many->get().granted.size(), 4u);
    const session first = a.client->default_session();
    ASSERT_FALSE(first.empty());
    for (const lease& l : many->get().granted) {
        ASSERT_TRUE(l.bound_session().has_value());
        EXPECT_EQ(l.bound_session()->key, first.key());
    }
    EXPECT_EQ(first.stats().held_locks, 4u);
    auto closed = start<>([&](auto h) { a.client->async_close_session(first, std::move(h)); });
    ASSERT_TRUE(closed->done());
    const lease again = granted(*a.client, "e");
    const session second = a.client->default_session();
    EXPECT_FALSE(second == first);
    EXPECT_EQ(again.bound_session()->key, second.key());
}

TEST_F(scripted_sessions, a_session_of_another_client_or_an_ended_one_is_refused) {
    party& a = join("a");
    party& b = join("b");
    const session theirs = open_session(*b.client);
    auto refused = acquire(*a.client, "job", {.session = theirs});
    ASSERT_TRUE(refused->done());
    EXPECT_EQ(refused->ec(), errc::invalid_argument);
    const session mine = open_session(*a.client);
    start<>([&](auto h) { a.client->async_close_session(mine, std::move(h)); });
    auto ended = acquire(*a.client, "job", {.session = mine});
    ASSERT_TRUE(ended->done());
    EXPECT_EQ(ended->ec(), errc::lease_lost);
}

TEST_F(scripted_sessions, a_manual_heartbeat_of_a_lock_under_a_session_heartbeats_the_session) {
    party& a = join("worker");
    const session s = open_session(*a.client);
    lease l = granted(*a.client, "job", {.session = s});
    time_->run_for(100ms);
    const auto before = s.deadline();
    auto beat = start<>([&](auto h) { l.async_heartbeat(std::move(h)); });
    ASSERT_TRUE(beat->done());
    EXPECT_FALSE(beat->ec()) << beat->ec().message();
    EXPECT_GT(s.deadline(), before);
    EXPECT_EQ(writes_to(*a.store, "job"), 1u) << "the lock's own item was written";
}

TEST_F(scripted_sessions, closing_the_client_releases_its_sessions_not_each_lock) {
    party& a = join("worker");
    const session s = open_session(*a.client);
    std::vector<lease> locks = acquire_under(*a.client, s, 20);
    const std::size_t before = a.store->operations();
    auto closed = start<>([&](auto h) { a.client->async_close(std::move(h)); });
    ASSERT_TRUE(closed->done());
    EXPECT_EQ(a.store->operations() - before, 1u);
    for (const lease& l : locks) {
        EXPECT_EQ(l.reason(), loss_reason::client_closed);
    }
}

// --- events (lock_client_options::on_event) -----------------------------------------

class scripted_events : public scripted_sessions {
protected:
    struct seen {
        lock_event event;
        test::manual_time::time_point at;
    };

    /// Options whose hook records every event with the time it came.
    lock_client_options recording(std::string owner, std::vector<seen>& into) const {
        lock_client_options o = options(std::move(owner));
        o.on_event = [&into, time = time_](const lock_event& e) {
            into.push_back({e, time->now()});
        };
        return o;
    }

    static std::vector<seen> of(const std::vector<seen>& all, lock_event_kind kind,
                                const lock_key& key) {
        std::vector<seen> out;
        std::copy_if(all.begin(), all.end(), std::back_inserter(out),
                     [&](const seen& s) { return s.event.kind == kind && s.event.key == key; });
        return out;
    }

    /// The one event of `kind` for `key`, failing the test unless there is
    /// exactly one.
    static lock_event one(const std::vector<seen>& all, lock_event_kind kind, const lock_key& key) {
        const auto found = of(all, kind, key);
        EXPECT_EQ(found.size(), 1u) << to_string(kind) << " for " << key.partition;
        return found.empty() ? lock_event{} : found.front().event;
    }

    /// Takes `l`'s lock away behind its holder's back, as a contender would.
    void steal(const lease& l) {
        auto out = std::make_shared<outcome<write_result>>();
        store_.async_write(lock_write{.key = l.key(),
                                      .condition = write_condition::version,
                                      .expected_version = l.record_version(),
                                      .owner = "thief",
                                      .new_version = "thief-1",
                                      .lease = lease_length},
                           now() + 1s,
                           [out](error_code ec, write_result r) { out->value.emplace(ec, r); });
        time_->settle();
        ASSERT_TRUE(out->done());
        ASSERT_FALSE(out->ec()) << out->ec().message();
    }
};

TEST_F(scripted_events, acquired_released_and_each_kind_of_loss_are_raised_with_their_fields) {
    std::vector<seen> events;
    party& a = join(recording("holder", events));
    lease kept = granted(*a.client, "kept");
    lease stolen = granted(*a.client, "stolen");
    lease expiring = granted(*a.client, "expiring");
    time_->settle();
    EXPECT_EQ(one(events, lock_event_kind::acquired, "kept").fence, 1u);

    // Released: with its fence and reason.
    ASSERT_TRUE(release(*a.client, kept)->done());
    const lock_event released = one(events, lock_event_kind::released, "kept");
    EXPECT_EQ(released.fence, 1u);
    EXPECT_EQ(released.reason, loss_reason::released);
    EXPECT_EQ(to_string(released), "released lock \"kept\" fence=1 reason=released");

    // Stolen: found by the next heartbeat, a period after the grant renewed it.
    steal(stolen);
    time_->run_for(heartbeat + heartbeat / 2);
    ASSERT_EQ(stolen.reason(), loss_reason::stolen);
    const lock_event lost = one(events, lock_event_kind::lost, "stolen");
    EXPECT_EQ(lost.reason, loss_reason::stolen);
    EXPECT_EQ(lost.fence, 1u);
    EXPECT_GT(lost.since_renewal, milliseconds::zero());
    EXPECT_LE(lost.since_renewal, heartbeat);
    // Its heartbeat failed on the way (the failed condition), with time left.
    const lock_event failed = one(events, lock_event_kind::heartbeat_failed, "stolen");
    EXPECT_EQ(failed.error, errc::conditional_check_failed) << failed.error.message();
    EXPECT_GT(failed.remaining, milliseconds::zero());

    // Expired: no answer after a last renewal, lost a lease (minus the
    // margin) after that renewal, exactly.
    a.store->hold_answers = true;
    const auto deadline = expiring.deadline();
    time_->run_until(deadline);
    ASSERT_EQ(expiring.reason(), loss_reason::expired);
    const auto expired = of(events, lock_event_kind::lost, "expiring");
    ASSERT_EQ(expired.size(), 1u);
    EXPECT_EQ(expired.front().at, deadline);
    EXPECT_EQ(expired.front().event.reason, loss_reason::expired);
    EXPECT_EQ(expired.front().event.since_renewal, lease_length - margin);
    EXPECT_EQ(to_string(expired.front().event),
              "lost lock \"expiring\" fence=1 reason=expired since_renewal=0.900s");
    a.store->hold_answers = false;
    a.store->deliver_held();
    a.client.reset();  // before what its hook refers to goes
}

TEST_F(scripted_events, a_failed_heartbeat_throttling_and_danger_are_raised_with_the_time_left) {
    std::vector<seen> events;
    lock_client_options o = recording("holder", events);
    o.danger_zone = 300ms;
    party& a = join(std::move(o));
    lease l = granted(*a.client, "job");
    const auto granted_deadline = l.deadline();
    a.store->fail_next(write_kind::refresh, make_error_code(errc::throttled));
    time_->run_for(heartbeat + heartbeat / 2);
    const auto failed = of(events, lock_event_kind::heartbeat_failed, "job");
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed.front().event.error, errc::throttled);
    // The first heartbeat failed: the grant's deadline was this far away.
    EXPECT_EQ(failed.front().event.remaining,
              std::chrono::duration_cast<milliseconds>(granted_deadline - failed.front().at));
    EXPECT_GT(failed.front().event.remaining, milliseconds::zero());
    const auto throttled = of(events, lock_event_kind::throttled, "job");
    ASSERT_EQ(throttled.size(), 1u);
    EXPECT_EQ(throttled.front().event.error, errc::throttled);
    EXPECT_EQ(a.client->stats().throttled, 1u);
    // The retry renews the lease; then the server goes silent and the danger
    // zone comes 300 ms before the deadline, the loss at it.
    time_->run_for(heartbeat);
    EXPECT_TRUE(l.held());
    a.store->hold_answers = true;
    const auto deadline = l.deadline();
    time_->run_until(deadline);
    const auto danger = of(events, lock_event_kind::danger, "job");
    ASSERT_EQ(danger.size(), 1u);
    EXPECT_EQ(danger.front().at, deadline - 300ms);
    EXPECT_EQ(danger.front().event.remaining, 300ms);
    EXPECT_EQ(to_string(danger.front().event), "danger lock \"job\" remaining=0.300s");
    EXPECT_EQ(one(events, lock_event_kind::lost, "job").reason, loss_reason::expired);
    a.store->hold_answers = false;
    a.store->deliver_held();
    a.client.reset();  // before what its hook refers to goes
}

TEST_F(scripted_events, sessions_raise_opened_closed_lost_and_killed_and_their_locks_too) {
    std::vector<seen> worker_events;
    std::vector<seen> taker_events;
    party& a = join(recording("worker", worker_events));
    party& b = join(recording("taker", taker_events));

    // Closed: the session, then each lock under it, released.
    const session closing = open_session(*a.client);
    acquire_under(*a.client, closing, 2, "closing-");
    ASSERT_TRUE(
        start<>([&](auto h) { a.client->async_close_session(closing, std::move(h)); })->done());
    EXPECT_EQ(one(worker_events, lock_event_kind::session_opened, closing.key()).fence, 1u);
    const lock_event closed = one(worker_events, lock_event_kind::session_closed, closing.key());
    EXPECT_EQ(closed.reason, loss_reason::released);
    for (const char* key : {"closing-0", "closing-1"}) {
        EXPECT_EQ(one(worker_events, lock_event_kind::acquired, key).fence, 1u);
        EXPECT_EQ(one(worker_events, lock_event_kind::released, key).reason, loss_reason::released);
    }

    // Lost: the worker's session expires with its locks; a contender then
    // kills it and takes the lock.
    const session dying = open_session(*a.client);
    acquire_under(*a.client, dying, 1, "dying-");
    a.store->hold_answers = true;
    time_->run_until(dying.deadline());
    const lock_event session_lost = one(worker_events, lock_event_kind::session_lost, dying.key());
    EXPECT_EQ(session_lost.reason, loss_reason::expired);
    EXPECT_EQ(session_lost.since_renewal, lease_length - margin);
    const lock_event lock_lost = one(worker_events, lock_event_kind::lost, "dying-0");
    EXPECT_EQ(lock_lost.reason, loss_reason::expired);
    EXPECT_EQ(lock_lost.since_renewal, lease_length - margin);

    auto taking = acquire(*b.client, "dying-0", {.wait = 10s});
    time_->run_for(lease_length + 2 * poll);
    ASSERT_TRUE(taking->done());
    ASSERT_FALSE(taking->ec()) << taking->ec().message();
    one(taker_events, lock_event_kind::session_killed, dying.key());
    EXPECT_EQ(one(taker_events, lock_event_kind::acquired, "dying-0").fence, 2u);
    a.store->hold_answers = false;
    a.store->deliver_held();
    // The clients are the fixture's and outlive this body; the vectors their
    // hooks fill do not. Destroyed clients deliver nothing more.
    a.client.reset();
    b.client.reset();
}

TEST_F(scripted_events, a_hook_may_call_into_the_client) {
    std::vector<seen> events;
    lock_client_options o = options("holder");
    lock_client* client = nullptr;
    std::size_t held_when_released = 99;
    auto again = std::make_shared<outcome<lease>>();
    o.on_event = [&](const lock_event& e) {
        events.push_back({e, now()});
        if (e.kind == lock_event_kind::released && e.fence == 1) {
            // Its own state settled before the hook ran: nothing held.
            held_when_released = client->stats().held;
            client->async_acquire(
                e.key, [again](error_code ec, lease l) { again->value.emplace(ec, std::move(l)); });
        } else if (e.kind == lock_event_kind::acquired && e.fence == 2) {
            client->async_close([](error_code) {});
        }
    };
    party& a = join(std::move(o));
    client = a.client.get();
    lease l = granted(*a.client, "job");
    ASSERT_TRUE(release(*a.client, l)->done());
    time_->settle();
    EXPECT_EQ(held_when_released, 0u);
    ASSERT_TRUE(again->done());
    ASSERT_FALSE(again->ec()) << again->ec().message();
    EXPECT_EQ(again->get().reason(), loss_reason::client_closed) << "the hook closed the client";
    const auto closed = of(events, lock_event_kind::released, "job");
    ASSERT_EQ(closed.size(), 2u);
    EXPECT_EQ(closed.back().event.fence, 2u);
    EXPECT_EQ(closed.back().event.reason, loss_reason::client_closed);
    a.client.reset();  // before what its hook refers to goes
}

TEST_F(scripted_events, nothing_is_delivered_after_the_client_is_destroyed) {
    std::vector<seen> events;
    party& a = join(recording("holder", events));
    const lease l = granted(*a.client, "job");
    time_->settle();
    ASSERT_EQ(events.size(), 1u);
    a.client->async_release(l, [](error_code) {});
    a.client.reset();  // ends the lease (client_closed), raising nothing more
    time_->run_for(lease_length);
    EXPECT_EQ(events.size(), 1u) << to_string(events.back().event);
}

}  // namespace
