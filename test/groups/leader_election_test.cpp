// Leader election without a server: the options as client-go validates them
// and as they map onto the lock client, the sans-io leader tracker, and the
// election itself on the memory store with a clock the test moves by hand
// (manual_time), so that every renewal, poll and expiry happens at the time
// the test says however slow the machine is. The same with real processes
// on dynalite, killed for real, is leader_election_processes_test.py.

#include "groups/leader_election_tracker.hpp"
#include "lock/manual_time.hpp"
#include "lock/outcome.hpp"

#include <dynalock/leader_election.hpp>
#include <dynalock/lock_client.hpp>
#include <dynalock/memory_store.hpp>

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <optional>
#include <system_error>

using namespace dynalock;
using test::outcome;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using std::chrono::milliseconds;

namespace {

// --- options ---------------------------------------------------------------

leader_election_options valid() {
    return {.name = "leader",
            .lease_duration = 4000ms,
            .renew_deadline = 3000ms,
            .retry_period = 500ms};
}

TEST(leader_election_options, the_defaults_are_client_gos_and_valid) {
    const leader_election_options o{.name = "leader"};
    EXPECT_EQ(o.lease_duration, 15s);
    EXPECT_EQ(o.renew_deadline, 10s);
    EXPECT_EQ(o.retry_period, 2s);
    EXPECT_EQ(o.validate(), std::nullopt);
}

TEST(leader_election_options, map_onto_the_lock_client) {
    auto o = valid();
    o.identity = "me";
    const lock_client_options l = o.lock_options();
    EXPECT_EQ(l.owner, "me");
    EXPECT_EQ(l.lease, 4000ms);
    EXPECT_EQ(l.heartbeat_period, 500ms);
    EXPECT_EQ(l.poll_period, 500ms);
    // The leader's local deadline is the renew deadline after its last renewal.
    EXPECT_EQ(l.lease - l.safety_margin, 3000ms);
    EXPECT_EQ(l.validate(), std::nullopt);
}

TEST(leader_election_options, lease_must_exceed_the_renew_deadline) {
    auto o = valid();
    o.renew_deadline = o.lease_duration;
    ASSERT_TRUE(o.validate());
    EXPECT_NE(o.validate()->find("must be greater than renew_deadline"), std::string::npos)
        << *o.validate();
}

TEST(leader_election_options, the_renew_deadline_must_exceed_one_point_two_retry_periods) {
    auto o = valid();
    o.retry_period = 1000ms;
    o.renew_deadline = 1200ms;
    ASSERT_TRUE(o.validate());
    EXPECT_NE(o.validate()->find("1.2 × retry_period"), std::string::npos) << *o.validate();
    o.renew_deadline = 1201ms;
    EXPECT_EQ(o.validate(), std::nullopt);
}

TEST(leader_election_options, the_lease_must_last_two_renewals_as_the_lock_client_asks) {
    // client-go allows this; dynalock heartbeats every retry period and wants
    // two of them in a lease.
    auto o = valid();
    o.lease_duration = 1900ms;
    o.renew_deadline = 1800ms;
    o.retry_period = 1000ms;
    ASSERT_TRUE(o.validate());
    EXPECT_NE(o.validate()->find("heartbeat and poll periods = retry_period"), std::string::npos)
        << *o.validate();
}

TEST(leader_election_options, rejects_zero_and_negative_timings_and_an_empty_name) {
    for (auto broken :
         {&leader_election_options::lease_duration, &leader_election_options::renew_deadline,
          &leader_election_options::retry_period}) {
        auto o = valid();
        o.*broken = -1ms;
        EXPECT_TRUE(o.validate());
        o.*broken = 0ms;
        EXPECT_TRUE(o.validate());
    }
    // Huge timings are refused without overflowing on the way (UBSan).
    auto huge = valid();
    huge.lease_duration = milliseconds::max();
    huge.renew_deadline = milliseconds::max() - 1ms;
    huge.retry_period = milliseconds::max() / 2;
    ASSERT_TRUE(huge.validate());
    EXPECT_NE(huge.validate()->find("at most"), std::string::npos) << *huge.validate();
    huge = valid();
    huge.retry_period = milliseconds::max();
    ASSERT_TRUE(huge.validate());
    EXPECT_NE(huge.validate()->find("1.2 × retry_period"), std::string::npos) << *huge.validate();
    auto o = valid();
    o.name = lock_key{};
    ASSERT_TRUE(o.validate());
    EXPECT_EQ(*o.validate(), "name must not be empty");
}

TEST(leader_election_options, the_election_refuses_invalid_ones_naming_the_problem) {
    asio::io_context io;
    memory_store store(io.get_executor());
    auto o = valid();
    o.retry_period = 3000ms;
    try {
        leader_election e(store, o);
        FAIL() << "constructed";
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), make_error_code(errc::invalid_argument));
        EXPECT_NE(std::string(e.what()).find("leader_election_options: renew_deadline"),
                  std::string::npos)
            << e.what();
    }
}

// --- the tracker -----------------------------------------------------------

using clock = std::chrono::steady_clock;
const clock::time_point t0 = clock::time_point{} + std::chrono::hours(1);

lock_record held_by(std::string owner, std::uint64_t fence, std::string version) {
    return {.key = {"leader"},
            .owner = std::move(owner),
            .lease = 4000ms,
            .record_version = std::move(version),
            .fence = fence};
}

TEST(leader_tracker, no_item_and_a_released_item_mean_no_leader) {
    groups::leader_tracker t;
    EXPECT_EQ(t.on_read(t0, std::nullopt), std::nullopt);
    auto r = held_by("a", 3, "v1");
    r.released = true;
    EXPECT_EQ(t.on_read(t0, r), std::nullopt);
}

TEST(leader_tracker, a_leader_counts_until_its_record_stood_still_for_its_lease) {
    // The moment a contender may take over (acquire_machine), not earlier.
    groups::leader_tracker t;
    const leader_info a{"a", 3};
    EXPECT_EQ(t.on_read(t0, held_by("a", 3, "v1")), a);
    EXPECT_EQ(t.on_read(t0 + 3999ms, held_by("a", 3, "v1")), a);
    EXPECT_EQ(t.on_read(t0 + 4000ms, held_by("a", 3, "v1")), std::nullopt);
    EXPECT_EQ(t.leader(), std::nullopt);
}

TEST(leader_tracker, each_renewal_restarts_the_timing) {
    groups::leader_tracker t;
    const leader_info a{"a", 3};
    t.on_read(t0, held_by("a", 3, "v1"));
    EXPECT_EQ(t.on_read(t0 + 3000ms, held_by("a", 3, "v2")), a);
    EXPECT_EQ(t.on_read(t0 + 6999ms, held_by("a", 3, "v2")), a);
    EXPECT_EQ(t.on_read(t0 + 7000ms, held_by("a", 3, "v2")), std::nullopt);
}

TEST(leader_tracker, a_new_grant_is_a_new_leader_with_its_term) {
    groups::leader_tracker t;
    t.on_read(t0, held_by("a", 3, "v1"));
    t.on_read(t0 + 5000ms, held_by("a", 3, "v1"));
    EXPECT_EQ(t.on_read(t0 + 5500ms, held_by("b", 4, "v2")), (leader_info{"b", 4}));
}

TEST(leader_tracker,
     an_item_without_a_fence_has_term_zero_and_one_under_a_session_never_stands_still) {
    groups::leader_tracker t;
    auto java = held_by("java", 0, "v1");
    java.fence.reset();
    EXPECT_EQ(t.on_read(t0, java), (leader_info{"java", 0}));
    auto bound = held_by("s", 7, "v9");
    bound.lease = 0ms;
    bound.session = session_ref{{"session/x"}, 1};
    t.on_read(t0, bound);
    EXPECT_EQ(t.on_read(t0 + std::chrono::hours(1), bound), (leader_info{"s", 7}));
}

TEST(leader_tracker, a_malformed_item_means_no_leader) {
    groups::leader_tracker t;
    auto r = held_by("a", 3, "v1");
    r.malformed = "fence: not a number";
    EXPECT_EQ(t.on_read(t0, r), std::nullopt);
}

// --- the election on a scripted clock --------------------------------------

constexpr milliseconds lease_duration = 4000ms;
constexpr milliseconds renew_deadline = 3000ms;
constexpr milliseconds retry = 500ms;

class scripted_election : public ::testing::Test {
protected:
    leader_election& join(std::string identity) {
        elections_.push_back(std::make_unique<leader_election>(
            store_,
            leader_election_options{.name = "leader",
                                    .identity = std::move(identity),
                                    .lease_duration = lease_duration,
                                    .renew_deadline = renew_deadline,
                                    .retry_period = retry},
            time_));
        return *elections_.back();
    }

    template <class... T, class Initiate>
    std::shared_ptr<outcome<T...>> start(Initiate initiate) {
        return test::start<T...>(io_, *time_, std::move(initiate));
    }

    std::shared_ptr<outcome<leadership>> campaign(leader_election& e) {
        return start<leadership>([&](auto h) { e.async_campaign(std::move(h)); });
    }

    std::shared_ptr<outcome<std::optional<leader_info>>> watch(leader_election& e,
                                                               std::optional<leader_info> known) {
        return start<std::optional<leader_info>>(
            [&](auto h) { e.async_wait_leader_change(std::move(known), std::move(h)); });
    }

    void TearDown() override {
        for (auto& e : elections_) {
            e->async_close([](error_code) {});
        }
        time_->run_for(10s);
    }

    asio::io_context io_;
    std::shared_ptr<test::manual_time> time_ = std::make_shared<test::manual_time>(io_);
    memory_store store_{io_.get_executor()};
    std::vector<std::unique_ptr<leader_election>> elections_;
};

TEST_F(scripted_election, one_leader_while_it_renews_and_the_next_at_once_on_resign) {
    auto& a = join("a");
    auto& b = join("b");
    auto won = campaign(a);
    ASSERT_TRUE(won->done());
    ASSERT_FALSE(won->ec()) << won->ec().message();
    leadership la = won->get();
    EXPECT_TRUE(la.held());
    EXPECT_EQ(la.identity(), "a");
    EXPECT_EQ(la.term(), 1u);

    auto second = campaign(b);
    time_->run_for(10 * lease_duration);
    EXPECT_FALSE(second->done()) << "b was elected while a renewed";
    EXPECT_TRUE(la.held());

    auto resigned = start<>([&](auto h) { a.async_resign(la, std::move(h)); });
    EXPECT_FALSE(la.held());
    time_->run_for(retry);
    ASSERT_TRUE(resigned->done());
    EXPECT_FALSE(resigned->ec());
    ASSERT_TRUE(second->done()) << "b was not elected within a retry period of the resignation";
    ASSERT_FALSE(second->ec()) << second->ec().message();
    EXPECT_EQ(second->get().identity(), "b");
    EXPECT_EQ(second->get().term(), 2u);
}

TEST_F(scripted_election, a_crashed_leader_is_replaced_after_its_lease_and_not_before) {
    // The crashed leader: a lock client that took the leadership's item and
    // never renews it, as a killed process leaves it.
    lock_client crashed(store_,
                        {.owner = "crashed",
                         .lease = lease_duration,
                         .heartbeat_period = retry,
                         .automatic_heartbeats = false},
                        time_);
    auto took = start<lease>([&](auto h) { crashed.async_acquire("leader", std::move(h)); });
    ASSERT_TRUE(took->done());
    ASSERT_FALSE(took->ec());
    const auto crashed_at = time_->now();

    auto& b = join("b");
    auto& observer = join("observer");
    auto seen = watch(observer, std::nullopt);
    ASSERT_TRUE(seen->done());
    EXPECT_EQ(seen->get(), (leader_info{"crashed", 1}));
    auto gone = watch(observer, seen->get());
    auto won = campaign(b);

    time_->run_until(crashed_at + lease_duration - 1ms);
    EXPECT_FALSE(won->done()) << "elected before the crashed leader's lease had run";
    EXPECT_FALSE(gone->done()) << "the observer saw the leader gone before its lease had run";

    time_->run_until(crashed_at + lease_duration + 2 * retry);
    ASSERT_TRUE(won->done());
    ASSERT_FALSE(won->ec()) << won->ec().message();
    EXPECT_EQ(won->get().term(), 2u);
    ASSERT_TRUE(gone->done());
    EXPECT_FALSE(gone->ec());
    // It saw either the gap or b at once, by when its read came.
    auto next = gone->get();
    if (!next) {
        auto now = watch(observer, std::nullopt);
        time_->run_for(retry);
        ASSERT_TRUE(now->done());
        next = now->get();
    }
    EXPECT_EQ(next, (leader_info{"b", 2}));
    crashed.async_close([](error_code) {});
}

TEST_F(scripted_election, leader_only_work_is_cancelled_when_the_leadership_ends) {
    auto& a = join("a");
    auto won = campaign(a);
    ASSERT_TRUE(won->done());
    leadership l = won->get();

    bool cancelled = false;
    auto work = [&]() -> asio::awaitable<void> {
        auto t = time_->make_timer(co_await asio::this_coro::executor);
        auto [ec] = co_await t->async_wait_until(time_->now() + std::chrono::hours(1),
                                                 asio::as_tuple(asio::deferred));
        cancelled = ec == asio::error::operation_aborted;
    };
    std::optional<error_code> ended;
    a.async_while_leading(l, work(), [&](std::exception_ptr, error_code ec) { ended = ec; });
    time_->run_for(3 * lease_duration);
    EXPECT_FALSE(ended) << "the work ended while leading";

    // Someone else resigning it for us stands for any loss: the work must stop.
    a.async_resign(l, [](error_code) {});
    time_->run_for(retry);
    ASSERT_TRUE(ended);
    EXPECT_TRUE(cancelled);
    EXPECT_EQ(*ended, errc::lease_lost);
}

TEST_F(scripted_election, a_campaign_stops_at_once_when_cancelled_and_on_close) {
    auto& a = join("a");
    auto& b = join("b");
    auto& c = join("c");
    ASSERT_TRUE(campaign(a)->done());

    asio::cancellation_signal stop;
    auto cancelled = start<leadership>(
        [&](auto h) { b.async_campaign(asio::bind_cancellation_slot(stop.slot(), std::move(h))); });
    auto closed = campaign(c);
    auto watching = watch(c, leader_info{"a", 1});
    time_->run_for(2 * lease_duration);
    EXPECT_FALSE(cancelled->done());
    stop.emit(asio::cancellation_type::terminal);
    time_->settle();
    ASSERT_TRUE(cancelled->done());
    EXPECT_EQ(cancelled->ec(), asio::error::operation_aborted);

    c.async_close([](error_code) {});
    time_->settle();
    ASSERT_TRUE(closed->done());
    EXPECT_EQ(closed->ec(), errc::client_closed);
    ASSERT_TRUE(watching->done());
    EXPECT_EQ(watching->ec(), errc::client_closed);
}

}  // namespace
