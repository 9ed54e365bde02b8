// lease_scheduler on a hand-advanced clock: many leases, completions reported
// by the test, so that spreading, the in-flight bound, deadline priority and
// expiry in the queue are checked step by step.

#include "lock/lease_scheduler.hpp"

#include "lock/lock_item.hpp"
#include "scripted_clock.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <vector>

using namespace dynalock;
using namespace dynalock::lock;
using namespace dynalock::lock::test;
using namespace std::chrono_literals;

namespace {

constexpr milliseconds lease = 10'000ms;
constexpr milliseconds period = 3'000ms;
constexpr milliseconds margin = 500ms;

std::shared_ptr<const lease_params> params(std::function<double()> random_unit) {
    return std::make_shared<const lease_params>(lease_params{
        .owner = me,
        .lease = lease,
        .heartbeat_period = period,
        .safety_margin = margin,
        .retry_delay = 100ms,
        .new_version = [n = 0]() mutable { return "v" + std::to_string(++n); },
        .random_unit = std::move(random_unit),
    });
}

lock_record granted(int i) {
    lock_record r;
    r.key = lock_key{"shard-" + std::to_string(i), std::nullopt};
    r.owner = me;
    r.lease = lease;
    r.record_version = "g" + std::to_string(i);
    r.fence = 1;
    return r;
}

// Leases granted by the test at chosen times, all on one scheduler.
struct fleet {
    explicit fleet(std::size_t max_in_flight, std::function<double()> random_unit = {})
        : p(params(std::move(random_unit))), scheduler(max_in_flight) {}

    scheduled_lease& grant(clock::time_point sent_at) {
        const int i = static_cast<int>(leases.size());
        leases.push_back(std::make_unique<scheduled_lease>(lease_machine(p, granted(i), sent_at)));
        scheduler.add(*leases.back(), sent_at);
        return *leases.back();
    }

    // Every step due at `now`, in the order the scheduler gives them.
    std::vector<lease_step> poll(clock::time_point now) {
        std::vector<lease_step> steps;
        while (lease_step s = scheduler.poll(now)) {
            steps.push_back(std::move(s));
        }
        return steps;
    }

    std::shared_ptr<const lease_params> p;
    lease_scheduler scheduler;
    std::vector<std::unique_ptr<scheduled_lease>> leases;
};

const write_result applied{};

std::size_t writes_in(const std::vector<lease_step>& steps) {
    return static_cast<std::size_t>(std::count_if(steps.begin(), steps.end(), [](auto& s) {
        return s.action.type == lease_action::kind::write;
    }));
}

TEST(LeaseScheduler, WithoutJitterLeasesGrantedTogetherHeartbeatTogether) {
    fleet f(100'000);
    for (int i = 0; i < 1000; ++i) {
        f.grant(at(0ms));
    }
    EXPECT_EQ(writes_in(f.poll(at(0ms))), 0u);
    EXPECT_EQ(writes_in(f.poll(at(period - 1ms))), 0u);
    EXPECT_EQ(writes_in(f.poll(at(period))), 1000u);  // the burst jitter exists to break up
}

// Leases waking at one time queue together (one of them in the queue's
// tree, the others behind it); any of them can leave early, wherever it is.
TEST(LeaseScheduler, LeasesWakingTogetherLeaveTheirQueueFromAnyPlace) {
    fleet f(100);
    std::vector<scheduled_lease*> l;
    for (int i = 0; i < 8; ++i) {
        l.push_back(&f.grant(at(0ms)));
    }
    EXPECT_EQ(writes_in(f.poll(at(0ms))), 0u);
    const auto keys_of = [](const std::vector<lease_step>& steps) {
        std::vector<std::string> keys;
        for (const auto& s : steps) {
            EXPECT_EQ(s.action.type, lease_action::kind::write);
            keys.push_back(s.lease->machine.record().key.partition);
        }
        std::sort(keys.begin(), keys.end());
        return keys;
    };
    // The first granted, the last, and two between: heartbeats asked for.
    for (int i : {0, 7, 3, 4}) {
        l[i]->machine.request_heartbeat({}, {});
        f.scheduler.wake(*l[i], at(1ms));
    }
    f.scheduler.forget(*l[5]);
    f.scheduler.forget(*l[1]);
    const auto early = f.poll(at(1ms));
    EXPECT_EQ(keys_of(early),
              (std::vector<std::string>{"shard-0", "shard-3", "shard-4", "shard-7"}));
    for (const auto& s : early) {
        EXPECT_FALSE(f.scheduler.on_write(*s.lease, at(2ms), {}, applied));
    }
    EXPECT_EQ(writes_in(f.poll(at(period - 1ms))), 0u);
    const auto on_time = f.poll(at(period));
    EXPECT_EQ(keys_of(on_time), (std::vector<std::string>{"shard-2", "shard-6"}))
        << "the others heartbeat at their time, and the forgotten never";
    for (const auto& s : on_time) {
        EXPECT_FALSE(f.scheduler.on_write(*s.lease, at(period + 1ms), {}, applied));
    }
    EXPECT_EQ(keys_of(f.poll(at(period + 1ms))),
              (std::vector<std::string>{"shard-0", "shard-3", "shard-4", "shard-7"}))
        << "a period after their early heartbeat";
}

// Leases sent together share a deadline, so several wait for a slot, or
// have a request out, under one key: each leaves its queue itself, in
// whatever order, and no other with it.
TEST(LeaseScheduler, LeasesSharingADeadlineLeaveTheirQueuesInAnyOrder) {
    fleet f(100);
    std::vector<scheduled_lease*> l;
    for (int i = 0; i < 4; ++i) {
        l.push_back(&f.grant(at(0ms)));
    }
    EXPECT_EQ(writes_in(f.poll(at(period))), 4u);
    // Out of the order they went in: 2, then 0.
    for (int i : {2, 0}) {
        EXPECT_FALSE(f.scheduler.on_write(*l[i], at(period + 1ms), {}, applied));
    }
    // The others' requests are still out at the deadline of the grant: they
    // end, and only they (the renewed two heartbeat again, due since 6 s).
    std::vector<std::string> ended;
    std::vector<std::string> renewing;
    for (const auto& s : f.poll(at(lease - margin))) {
        auto& to = s.action.type == lease_action::kind::ended ? ended : renewing;
        to.push_back(s.lease->machine.record().key.partition);
        if (s.action.type == lease_action::kind::ended) {
            EXPECT_EQ(s.action.reason, loss_reason::expired);
        }
    }
    std::sort(ended.begin(), ended.end());
    std::sort(renewing.begin(), renewing.end());
    EXPECT_EQ(ended, (std::vector<std::string>{"shard-1", "shard-3"}));
    EXPECT_EQ(renewing, (std::vector<std::string>{"shard-0", "shard-2"}));
    EXPECT_FALSE(l[0]->machine.ended());
    EXPECT_FALSE(l[2]->machine.ended());

    // One slot: of three due together, two queue for it under one deadline.
    fleet g(1);
    std::vector<scheduled_lease*> m;
    for (int i = 0; i < 3; ++i) {
        m.push_back(&g.grant(at(0ms)));
    }
    const auto first = g.poll(at(period));
    ASSERT_EQ(writes_in(first), 1u);
    scheduled_lease* const sent = first[0].lease;
    scheduled_lease* const forgotten = sent == m[1] ? m[2] : m[1];
    scheduled_lease* const remaining = sent == m[0] ? m[2] : m[0] == forgotten ? m[2] : m[0];
    ASSERT_NE(remaining, sent);
    ASSERT_NE(remaining, forgotten);
    g.scheduler.forget(*forgotten);
    const lease_step next = g.scheduler.on_write(*sent, at(period + 1ms), {}, applied);
    EXPECT_FALSE(next) << "the renewed lease waits for its next heartbeat";
    const auto then = g.poll(at(period + 1ms));
    ASSERT_EQ(then.size(), 1u);
    EXPECT_EQ(then[0].lease, remaining) << "the forgotten lease never goes";
    EXPECT_EQ(then[0].action.type, lease_action::kind::write);
    EXPECT_TRUE(g.poll(at(period + 2ms)).empty());
}

TEST(LeaseScheduler, JitterSpreadsTenThousandHeartbeatsOfLeasesGrantedTogether) {
    std::minstd_rand random(42);
    fleet f(100'000, [&] { return std::uniform_real_distribution<double>(0, 1)(random); });
    constexpr int n = 10'000;
    for (int i = 0; i < n; ++i) {
        f.grant(at(0ms));
    }
    // Three periods in 100 ms windows, every heartbeat answered at once.
    std::map<long long, std::size_t> per_window;
    std::size_t before_half_period = 0;
    for (auto t = 0ms; t <= 3 * period; t += 100ms) {
        for (auto& s : f.poll(at(t))) {
            ASSERT_EQ(s.action.type, lease_action::kind::write);
            per_window[t.count() / 100]++;
            if (t < period / 2) {
                ++before_half_period;
            }
            auto next = f.scheduler.on_write(*s.lease, at(t), {}, applied);
            EXPECT_FALSE(next);  // renewed: it waits for its next heartbeat
        }
    }
    EXPECT_EQ(before_half_period, 0u) << "no first heartbeat comes earlier than half a period";
    std::size_t total = 0;
    std::size_t busiest = 0;
    for (auto [window, count] : per_window) {
        total += count;
        busiest = std::max(busiest, count);
    }
    EXPECT_GE(total, 2u * n);  // every lease heartbeat at least twice in three periods
    // Spread over half a period at first (15 windows): ~667 per window; a
    // burst would put all 10,000 in one.
    EXPECT_LT(busiest, 1000u) << "heartbeats bunch up";
    EXPECT_EQ(f.scheduler.counters().heartbeats_sent, total);
    EXPECT_EQ(f.scheduler.counters().lost_expired, 0u);
    EXPECT_LE(f.scheduler.counters().max_heartbeat_gap, std::chrono::microseconds(period));
}

TEST(LeaseScheduler, RequestsInFlightStayWithinTheBound) {
    fleet f(8);
    for (int i = 0; i < 100; ++i) {
        f.grant(at(0ms));
    }
    f.poll(at(0ms));
    auto first = f.poll(at(period));
    ASSERT_EQ(first.size(), 8u);
    EXPECT_EQ(f.scheduler.in_flight(), 8u);
    EXPECT_EQ(writes_in(f.poll(at(period + 10ms))), 0u) << "no slot, nothing more";
    // One completes: exactly one more goes.
    EXPECT_FALSE(f.scheduler.on_write(*first[0].lease, at(period + 20ms), {}, applied));
    EXPECT_EQ(writes_in(f.poll(at(period + 20ms))), 1u);
    EXPECT_EQ(f.scheduler.in_flight(), 8u);
}

TEST(LeaseScheduler, AcquiresShareTheBoundAndComeAfterEveryLeaseDue) {
    fleet f(4);
    for (int i = 0; i < 3; ++i) {
        f.grant(at(0ms));
    }
    EXPECT_TRUE(f.poll(at(0ms)).empty());
    for (int i = 0; i < 4; ++i) {
        EXPECT_TRUE(f.scheduler.admit_other()) << "acquire " << i << ": a free slot";
    }
    EXPECT_FALSE(f.scheduler.admit_other()) << "the bound holds for acquires too";
    EXPECT_EQ(f.scheduler.counters().in_flight, 4u);
    EXPECT_TRUE(f.poll(at(period)).empty()) << "three heartbeats due, no slot";

    // Each slot an acquire frees goes to a heartbeat due, none to an acquire.
    for (int i = 0; i < 3; ++i) {
        f.scheduler.other_completed({});
        EXPECT_FALSE(f.scheduler.admit_other()) << "heartbeat " << i << " waits for this slot";
        EXPECT_EQ(writes_in(f.poll(at(period))), 1u);
    }
    f.scheduler.other_completed({});
    EXPECT_TRUE(f.scheduler.admit_other()) << "no lease due: the acquire goes";
    EXPECT_EQ(f.scheduler.in_flight(), 4u);

    // A throttled acquire halves the bound for everyone; the caller counts it.
    f.scheduler.other_completed(errc::throttled);
    EXPECT_EQ(f.scheduler.limit(), 2u);
    EXPECT_EQ(f.scheduler.counters().throttled, 0u);
    EXPECT_FALSE(f.scheduler.admit_other()) << "3 in flight, bound 2";
}

TEST(LeaseScheduler, UnderPressureTheNearestDeadlineGoesFirst) {
    fleet f(1);
    // Granted 0, 100, 200 ms apart in reverse key order; all due by 3.2 s.
    auto& late = f.grant(at(200ms));
    auto& middle = f.grant(at(100ms));
    auto& early = f.grant(at(0ms));
    auto& blocker = f.grant(at(0ms));
    f.poll(at(0ms));
    blocker.machine.request_heartbeat();
    f.scheduler.wake(blocker, at(2900ms));
    auto steps = f.poll(at(2900ms));
    ASSERT_EQ(steps.size(), 1u);
    ASSERT_EQ(steps[0].lease, &blocker);
    EXPECT_TRUE(f.poll(at(period + 300ms)).empty()) << "the slot is taken";
    std::vector<scheduled_lease*> order;
    scheduled_lease* in_flight = &blocker;
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(f.scheduler.on_write(*in_flight, at(period + 400ms), {}, applied));
        auto next = f.poll(at(period + 400ms));
        ASSERT_EQ(next.size(), 1u);
        in_flight = next[0].lease;
        order.push_back(in_flight);
    }
    EXPECT_EQ(order, (std::vector<scheduled_lease*>{&early, &middle, &late}));
}

TEST(LeaseScheduler, ALeaseWhoseDeadlinePassesInTheQueueOrInFlightEndsExpiredAtItsDeadline) {
    fleet f(1);
    auto& blocker = f.grant(at(0ms));
    auto& starved = f.grant(at(0ms));
    f.poll(at(0ms));
    auto steps = f.poll(at(period));
    ASSERT_EQ(steps.size(), 1u);
    scheduled_lease* holder = steps[0].lease;
    scheduled_lease* queued = holder == &blocker ? &starved : &blocker;
    // The slot is never freed: the store does not answer. Both leases wake
    // the client at their deadline and end there: the queued one is never
    // sent late, the one in flight does not wait for an answer.
    const auto deadline = queued->machine.deadline();
    EXPECT_EQ(ms(deadline), (lease - margin).count());
    EXPECT_EQ(holder->machine.deadline(), deadline);
    ASSERT_TRUE(f.scheduler.next_wake());
    EXPECT_LE(*f.scheduler.next_wake(), deadline);
    EXPECT_TRUE(f.poll(deadline - 1ms).empty());
    auto ended = f.poll(deadline);
    ASSERT_EQ(ended.size(), 2u);
    for (const auto& e : ended) {
        EXPECT_EQ(e.action.type, lease_action::kind::ended);
        EXPECT_EQ(e.action.reason, loss_reason::expired);
    }
    EXPECT_TRUE((ended[0].lease == queued && ended[1].lease == holder) ||
                (ended[0].lease == holder && ended[1].lease == queued));
    EXPECT_EQ(f.scheduler.counters().heartbeats_sent, 1u);
    EXPECT_EQ(f.scheduler.counters().lost_expired, 2u);
    EXPECT_FALSE(f.scheduler.next_wake());
    // The request still holds its slot until its answer comes, which then
    // changes nothing.
    EXPECT_EQ(f.scheduler.in_flight(), 1u);
    auto late = f.scheduler.on_write(*holder, deadline + 1s, error_code{}, applied);
    EXPECT_FALSE(late);
    EXPECT_EQ(f.scheduler.in_flight(), 0u);
    EXPECT_EQ(f.scheduler.counters().lost_expired, 2u);
    EXPECT_FALSE(f.scheduler.next_wake());
}

TEST(LeaseScheduler, ThrottlingHalvesTheBoundAndSuccessGrowsItBack) {
    fleet f(8);
    for (int i = 0; i < 8; ++i) {
        f.grant(at(0ms));
    }
    f.poll(at(0ms));
    auto steps = f.poll(at(period));
    ASSERT_EQ(steps.size(), 8u);
    const error_code throttled = errc::throttled;
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(f.scheduler.on_write(*steps[i].lease, at(period + 10ms), throttled, {}));
    }
    EXPECT_EQ(f.scheduler.limit(), 1u);  // 8 → 4 → 2 → 1
    EXPECT_EQ(f.scheduler.counters().throttled, 3u);
    EXPECT_EQ(f.scheduler.counters().heartbeats_failed, 3u);
    EXPECT_EQ(f.scheduler.counters().in_flight_limit, 1u);
    for (int i = 3; i < 8; ++i) {
        EXPECT_FALSE(f.scheduler.on_write(*steps[i].lease, at(period + 20ms), {}, applied));
    }
    EXPECT_EQ(f.scheduler.limit(), 6u);
    // The throttled three retry after the retry delay, within the new bound.
    auto retries = f.poll(at(period + 110ms));
    EXPECT_EQ(writes_in(retries), 3u);
}

TEST(LeaseScheduler, AmbiguousHeartbeatKeepsItsSlotWhileItIsSettled) {
    fleet f(1);
    auto& l = f.grant(at(0ms));
    f.poll(at(0ms));
    auto steps = f.poll(at(period));
    ASSERT_EQ(steps.size(), 1u);
    const std::string sent_version = steps[0].action.write.new_version;
    auto read = f.scheduler.on_write(l, at(period + 50ms), errc::timeout, {});
    ASSERT_TRUE(read);
    EXPECT_EQ(read.action.type, lease_action::kind::read);
    EXPECT_EQ(f.scheduler.in_flight(), 1u);
    lock_record now_stored = granted(0);
    now_stored.record_version = sent_version;
    EXPECT_FALSE(f.scheduler.on_read(l, at(period + 80ms), {}, now_stored));
    EXPECT_EQ(f.scheduler.in_flight(), 0u);
    EXPECT_EQ(f.scheduler.counters().heartbeats_failed, 1u);
    EXPECT_EQ(f.scheduler.counters().heartbeat_latency.total(), 1u);  // it did renew
    EXPECT_EQ(ms(l.machine.deadline()), (period + lease - margin).count());
}

TEST(LeaseScheduler, AReleaseRequestIsLookedAtAtOnce) {
    fleet f(4);
    auto& l = f.grant(at(0ms));
    f.poll(at(0ms));
    l.machine.request_release();
    f.scheduler.wake(l, at(5ms));
    auto steps = f.poll(at(5ms));
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(steps[0].action.write.kind, write_kind::release);
    auto ended = f.scheduler.on_write(l, at(10ms), {}, applied);
    ASSERT_TRUE(ended);
    EXPECT_EQ(ended.action.type, lease_action::kind::ended);
    EXPECT_EQ(ended.action.reason, loss_reason::released);
    EXPECT_EQ(f.scheduler.counters().released, 1u);
    EXPECT_EQ(f.scheduler.in_flight(), 0u);
    EXPECT_FALSE(f.scheduler.next_wake());
}

TEST(LeaseScheduler, HeartbeatLatencyAndTheLongestGapAreMeasured) {
    fleet f(4);
    auto& l = f.grant(at(0ms));
    f.poll(at(0ms));
    ASSERT_EQ(f.poll(at(period)).size(), 1u);
    EXPECT_FALSE(f.scheduler.on_write(l, at(period + 40ms), {}, applied));
    const auto& c = f.scheduler.counters();
    EXPECT_EQ(c.heartbeats_sent, 1u);
    EXPECT_EQ(c.heartbeats_failed, 0u);
    EXPECT_EQ(c.max_heartbeat_gap, std::chrono::microseconds(period + 40ms));
    // 40 ms lies in the bucket [40,960 µs, 49,152 µs).
    EXPECT_GE(c.heartbeat_latency.quantile(0.5), std::chrono::microseconds(40ms));
    EXPECT_LE(c.heartbeat_latency.quantile(0.5), std::chrono::microseconds(50ms));
}

TEST(LatencyHistogram, QuantilesAreWithinAQuarterOfTheTruth) {
    latency_histogram h;
    EXPECT_EQ(h.quantile(0.5).count(), 0);
    for (int us = 1; us <= 100'000; ++us) {
        h.record(std::chrono::microseconds(us));
    }
    EXPECT_EQ(h.total(), 100'000u);
    for (double q : {0.01, 0.5, 0.9, 0.99, 1.0}) {
        const double truth = q * 100'000;
        const auto got = static_cast<double>(h.quantile(q).count());
        EXPECT_GE(got, truth) << q;
        EXPECT_LE(got, truth * 1.25 + 1) << q;
    }
    h.record(std::chrono::microseconds(-5));        // a clock oddity is counted, as zero
    h.record(std::chrono::hours(24 * 365 * 1000));  // and an absurd one in the last bucket
    EXPECT_EQ(h.total(), 100'002u);
}

}  // namespace
