// lease_machine on scripted sequences: a hand-advanced steady clock, record
// versions "v1", "v2", ... and every action checked field by field against
// the protocol of docs/design.md.

#include "lock/lease_machine.hpp"

#include "scripted_clock.hpp"

#include <gtest/gtest.h>

#include <ostream>

using namespace dynalock;
using namespace dynalock::lock;
using namespace std::chrono_literals;

namespace dynalock::lock {
void PrintTo(lease_action::kind k, std::ostream* os) {
    constexpr const char* names[] = {"write", "read", "wait", "danger", "ended"};
    *os << names[static_cast<int>(k)];
}
}  // namespace dynalock::lock

namespace dynalock {
void PrintTo(loss_reason r, std::ostream* os) {
    *os << to_string(r);
}
}  // namespace dynalock

namespace {

using namespace dynalock::lock::test;
constexpr milliseconds lease = 1000ms;
constexpr milliseconds margin = 100ms;
constexpr milliseconds retry_delay = 50ms;
// Granted at t0: the deadline is 900 ms, the first heartbeat at 300 ms.

lease_params default_params() {
    lease_params p;
    p.owner = me;
    p.lease = lease;
    p.heartbeat_period = 300ms;
    p.safety_margin = margin;
    p.retry_delay = retry_delay;
    return p;
}

lock_record record_of(std::string owner, std::string version, milliseconds l = lease,
                      bool released = false) {
    lock_record r;
    r.key = key;
    r.owner = std::move(owner);
    r.lease = l;
    r.record_version = std::move(version);
    r.fence = 7;
    r.released = released;
    return r;
}

lock_record ours(std::string version, milliseconds l = lease) {
    return record_of(me, std::move(version), l);
}

lease_machine machine(lease_params p = default_params()) {
    p.new_version = [n = 0]() mutable { return "v" + std::to_string(++n); };
    return lease_machine(std::make_shared<const lease_params>(std::move(p)), ours("g0"), at(0ms));
}

write_result with_record(lock_record r) {
    return write_result{std::move(r)};
}
const write_result no_record{};
const error_code ok{};
const error_code condition_failed = errc::conditional_check_failed;

// The expect_* helpers report their caller's line (__builtin_LINE, since clang 14
// has no std::source_location), so that a failure names the scripted step.
void expect_common(const lock_write& w, write_kind kind, const std::string& expected_version) {
    EXPECT_EQ(w.key, key);
    EXPECT_EQ(w.kind, kind);
    EXPECT_EQ(w.condition, write_condition::version_and_owner);
    EXPECT_FALSE(w.require_existing);
    EXPECT_EQ(w.expected_version, expected_version);
    EXPECT_EQ(w.owner, me);
    EXPECT_TRUE(w.extra.empty());
}

void expect_refresh(const lease_action& a, const std::string& expected_version,
                    const std::string& new_version, clock::time_point until, milliseconds l = lease,
                    const std::optional<bytes>& data = {}, int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, lease_action::kind::write);
    expect_common(a.write, write_kind::refresh, expected_version);
    EXPECT_EQ(a.write.new_version, new_version);
    EXPECT_EQ(a.write.lease.count(), l.count());
    EXPECT_EQ(a.write.data_action, data ? data_change::replace : data_change::keep);
    EXPECT_EQ(a.write.data, data.value_or(bytes{}));
    EXPECT_FALSE(a.write.delete_item);
    EXPECT_EQ(ms(a.until), ms(until));
}

void expect_release(const lease_action& a, const std::string& expected_version,
                    clock::time_point until, bool delete_item = false,
                    const std::optional<bytes>& data = {}, int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, lease_action::kind::write);
    expect_common(a.write, write_kind::release, expected_version);
    EXPECT_EQ(a.write.new_version, "");
    EXPECT_EQ(a.write.data_action, data ? data_change::replace : data_change::keep);
    EXPECT_EQ(a.write.data, data.value_or(bytes{}));
    EXPECT_EQ(a.write.delete_item, delete_item);
    EXPECT_EQ(ms(a.until), ms(until));
}

void expect_read(const lease_action& a, clock::time_point until, int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, lease_action::kind::read);
    EXPECT_EQ(a.write.key, key);
    EXPECT_EQ(ms(a.until), ms(until));
}

void expect_wait(const lease_action& a, clock::time_point until, int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, lease_action::kind::wait);
    EXPECT_EQ(ms(a.until), ms(until));
}

void expect_ended(const lease_action& a, loss_reason reason, int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, lease_action::kind::ended);
    EXPECT_EQ(a.reason, reason);
}

const bytes payload{std::byte{0xca}, std::byte{0xfe}};

TEST(LeaseMachine, DeadlineOfTheGrantCountsFromItsSendTime) {
    auto m = machine();
    EXPECT_EQ(ms(m.deadline()), ms(at(900ms)));
    EXPECT_EQ(m.record(), ours("g0"));
    EXPECT_FALSE(m.ended());
    EXPECT_FALSE(m.releasing());
}

TEST(LeaseMachine, HeartbeatsMoveTheDeadlineFromTheirSendTime) {
    auto m = machine();
    expect_wait(m.next(at(0ms)), at(300ms));
    expect_wait(m.next(at(120ms)), at(300ms));
    expect_refresh(m.next(at(300ms)), "g0", "v1", at(900ms));
    // The answer comes 250 ms later; the lease still counts from 300 ms.
    expect_wait(m.on_write(at(550ms), ok, with_record(ours("v1"))), at(600ms));
    EXPECT_EQ(ms(m.deadline()), ms(at(1200ms)));
    EXPECT_EQ(m.record(), ours("v1"));
    expect_refresh(m.next(at(600ms)), "v1", "v2", at(1200ms));
    expect_wait(m.on_write(at(610ms), ok, with_record(ours("v2"))), at(900ms));
    EXPECT_EQ(ms(m.deadline()), ms(at(1500ms)));
    expect_refresh(m.next(at(900ms)), "v2", "v3", at(1500ms));
}

TEST(LeaseMachine, DeadlinePassingWithAHeartbeatInFlightExpires) {
    auto m = machine();
    expect_refresh(m.next(at(300ms)), "g0", "v1", at(900ms));
    expect_ended(m.on_write(at(900ms), errc::timeout, no_record), loss_reason::expired);
    EXPECT_TRUE(m.ended());
    EXPECT_EQ(m.reason(), loss_reason::expired);
}

TEST(LeaseMachine, DeadlinePassingBetweenFailedHeartbeatsExpires) {
    auto m = machine();
    expect_refresh(m.next(at(300ms)), "g0", "v1", at(900ms));
    expect_wait(m.on_write(at(800ms), errc::throttled, no_record), at(850ms));
    expect_refresh(m.next(at(850ms)), "g0", "v2", at(900ms));
    // The retry would come at 930 ms: never past the deadline.
    expect_wait(m.on_write(at(880ms), errc::throttled, no_record), at(900ms));
    expect_ended(m.next(at(900ms)), loss_reason::expired);
}

TEST(LeaseMachine, HeartbeatFailingItsConditionIsStolen) {
    auto m = machine();
    m.next(at(300ms));
    expect_ended(m.on_write(at(310ms), condition_failed, with_record(record_of("thief", "t1"))),
                 loss_reason::stolen);
}

TEST(LeaseMachine, AmbiguousHeartbeatThatAppliedCountsFromItsSendTime) {
    for (const errc e : {errc::timeout, errc::connection_lost, errc::internal_server_error,
                         errc::crc32_mismatch}) {
        SCOPED_TRACE(make_error_code(e).message());
        auto m = machine();
        expect_refresh(m.next(at(300ms)), "g0", "v1", at(900ms));
        expect_read(m.on_write(at(400ms), e, no_record), at(900ms));
        expect_wait(m.on_read(at(420ms), ok, ours("v1")), at(600ms));
        EXPECT_EQ(ms(m.deadline()), ms(at(1200ms)));
        EXPECT_EQ(m.record(), ours("v1"));
        expect_refresh(m.next(at(600ms)), "v1", "v2", at(1200ms));
    }
}

TEST(LeaseMachine, AmbiguousHeartbeatThatDidNotApplyIsSentAgain) {
    auto m = machine();
    m.next(at(300ms));
    expect_read(m.on_write(at(400ms), errc::timeout, no_record), at(900ms));
    expect_refresh(m.on_read(at(410ms), ok, ours("g0")), "g0", "v2", at(900ms));
    expect_wait(m.on_write(at(450ms), ok, with_record(ours("v2"))), at(710ms));
    EXPECT_EQ(ms(m.deadline()), ms(at(1310ms)));
}

TEST(LeaseMachine, AmbiguousHeartbeatOnAnItemNoLongerOursIsStolen) {
    const std::optional<lock_record> others[] = {
        record_of("thief", "t1"),
        record_of(me, "g0", lease, true),
        std::nullopt,
        record_of("thief", "v1"),
    };
    for (const auto& other : others) {
        auto m = machine();
        m.next(at(300ms));
        expect_read(m.on_write(at(400ms), errc::timeout, no_record), at(900ms));
        expect_ended(m.on_read(at(410ms), ok, other), loss_reason::stolen);
    }
}

// Another tool wrote `data` as a string: the item is malformed, but the
// heartbeat applied (our version, our owner); what it wrote is known.
lock_record malformed_ours(std::string version) {
    lock_record r = ours(std::move(version));
    r.fence.reset();  // as a partial read of it might leave it
    r.malformed = "data is the string \"text\", expected binary data, or no data";
    return r;
}

TEST(LeaseMachine, HeartbeatThatAppliedOnAMalformedItemKeepsTheLeaseAndWhatItKnew) {
    auto m = machine();
    expect_refresh(m.next(at(300ms)), "g0", "v1", at(900ms));
    expect_wait(m.on_write(at(310ms), errc::malformed_item, with_record(malformed_ours("v1"))),
                at(600ms));
    EXPECT_EQ(ms(m.deadline()), ms(at(1200ms)));
    // The version and lease it wrote; the fence as the grant gave it.
    EXPECT_EQ(m.record(), ours("v1"));
    EXPECT_EQ(m.renewals(), 1u);
}

TEST(LeaseMachine, AmbiguousHeartbeatResolvedToAMalformedItemOfOursKeepsTheLease) {
    auto m = machine();
    m.next(at(300ms));
    expect_read(m.on_write(at(400ms), errc::timeout, no_record), at(900ms));
    expect_wait(m.on_read(at(420ms), errc::malformed_item, malformed_ours("v1")), at(600ms));
    EXPECT_EQ(m.record(), ours("v1"));
    EXPECT_EQ(ms(m.deadline()), ms(at(1200ms)));
}

TEST(LeaseMachine, AmbiguousHeartbeatResolvedToAMalformedItemNotOursIsStolen) {
    lock_record thief = malformed_ours("t1");
    thief.owner = "thief";
    auto m = machine();
    m.next(at(300ms));
    m.on_write(at(400ms), errc::timeout, no_record);
    expect_ended(m.on_read(at(420ms), errc::malformed_item, thief), loss_reason::stolen);
}

TEST(LeaseMachine, ReleaseThatAppliedOnAMalformedItemIsReleased) {
    auto m = machine();
    m.request_release();
    expect_release(m.next(at(100ms)), "g0", at(900ms));
    expect_ended(m.on_write(at(120ms), errc::malformed_item, with_record(malformed_ours("g0"))),
                 loss_reason::released);
}

TEST(LeaseMachine, ReadErrorsWhileResolvingAreRetriedWithinTheDeadline) {
    auto m = machine();
    m.next(at(300ms));
    expect_read(m.on_write(at(400ms), errc::timeout, no_record), at(900ms));
    expect_wait(m.on_read(at(410ms), errc::throttled, std::nullopt), at(460ms));
    expect_read(m.next(at(460ms)), at(900ms));
    expect_wait(m.on_read(at(870ms), errc::connect_failed, std::nullopt), at(900ms));
    expect_ended(m.next(at(900ms)), loss_reason::expired);
}

TEST(LeaseMachine, ReadErrorWhileResolvingThenTheAnswer) {
    auto m = machine();
    m.next(at(300ms));
    m.on_write(at(400ms), errc::timeout, no_record);
    expect_wait(m.on_read(at(410ms), errc::timeout, std::nullopt), at(460ms));
    expect_read(m.next(at(460ms)), at(900ms));
    expect_wait(m.on_read(at(470ms), ok, ours("v1")), at(600ms));
    EXPECT_EQ(ms(m.deadline()), ms(at(1200ms)));
}

TEST(LeaseMachine, ThrottledHeartbeatIsRetriedAfterTheDelay) {
    auto m = machine();
    expect_refresh(m.next(at(300ms)), "g0", "v1", at(900ms));
    expect_wait(m.on_write(at(310ms), errc::throttled, no_record), at(360ms));
    expect_wait(m.next(at(330ms)), at(360ms));
    expect_refresh(m.next(at(360ms)), "g0", "v2", at(900ms));
    expect_wait(m.on_write(at(370ms), ok, with_record(ours("v2"))), at(660ms));
    EXPECT_EQ(ms(m.deadline()), ms(at(1260ms)));
}

TEST(LeaseMachine, Release) {
    auto m = machine();
    m.request_release();
    EXPECT_TRUE(m.releasing());
    expect_release(m.next(at(100ms)), "g0", at(900ms));
    expect_ended(m.on_write(at(120ms), ok, with_record(record_of(me, "g0", lease, true))),
                 loss_reason::released);
}

TEST(LeaseMachine, ReleaseDeletesWhenAskedAndCarriesItsData) {
    auto p = default_params();
    p.delete_on_release = true;
    auto deleting = machine(p);
    deleting.request_release();
    expect_release(deleting.next(at(100ms)), "g0", at(900ms), true);
    expect_ended(deleting.on_write(at(120ms), ok, no_record), loss_reason::released);

    auto with_data = machine();
    with_data.request_release(payload);
    expect_release(with_data.next(at(100ms)), "g0", at(900ms), false, payload);
}

TEST(LeaseMachine, ReleaseRequestedDuringAHeartbeatFollowsItWithTheNewVersion) {
    auto m = machine();
    expect_refresh(m.next(at(300ms)), "g0", "v1", at(900ms));
    m.request_release();
    expect_release(m.on_write(at(350ms), ok, with_record(ours("v1"))), "v1", at(1200ms));
    expect_ended(m.on_write(at(360ms), ok, no_record), loss_reason::released);
}

TEST(LeaseMachine, ReleaseRequestedDuringAHeartbeatThatWasStolen) {
    auto m = machine();
    m.next(at(300ms));
    m.request_release();
    expect_ended(m.on_write(at(350ms), condition_failed, no_record), loss_reason::stolen);
}

TEST(LeaseMachine, ReleaseFailingItsConditionIsStolen) {
    auto m = machine();
    m.request_release();
    m.next(at(100ms));
    expect_ended(m.on_write(at(120ms), condition_failed, with_record(record_of("thief", "t1"))),
                 loss_reason::stolen);
}

TEST(LeaseMachine, AmbiguousReleaseThatAppliedOrWasOvertakenIsReleased) {
    const std::optional<lock_record> after[] = {
        record_of(me, "g0", lease, true),
        std::nullopt,
        record_of("next", "n1"),
    };
    for (const auto& item : after) {
        auto m = machine();
        m.request_release();
        expect_release(m.next(at(100ms)), "g0", at(900ms));
        expect_read(m.on_write(at(200ms), errc::connection_lost, no_record), at(900ms));
        expect_ended(m.on_read(at(210ms), ok, item), loss_reason::released);
    }
}

TEST(LeaseMachine, AmbiguousReleaseThatDidNotApplyIsSentAgain) {
    auto m = machine();
    m.request_release();
    m.next(at(100ms));
    expect_read(m.on_write(at(200ms), errc::timeout, no_record), at(900ms));
    expect_release(m.on_read(at(210ms), ok, ours("g0")), "g0", at(900ms));
    expect_ended(m.on_write(at(220ms), ok, no_record), loss_reason::released);
}

TEST(LeaseMachine, ThrottledReleaseIsRetriedAfterTheDelay) {
    auto m = machine();
    m.request_release();
    m.next(at(100ms));
    expect_wait(m.on_write(at(110ms), errc::throttled, no_record), at(160ms));
    expect_release(m.next(at(160ms)), "g0", at(900ms));
}

TEST(LeaseMachine, RequestedHeartbeatCarriesANewLeaseAndDataOnce) {
    auto m = machine();
    m.request_heartbeat(2000ms, payload);
    expect_refresh(m.next(at(100ms)), "g0", "v1", at(900ms), 2000ms, payload);
    expect_wait(m.on_write(at(150ms), ok, with_record(ours("v1", 2000ms))), at(400ms));
    EXPECT_EQ(ms(m.deadline()), ms(at(2000ms)));
    EXPECT_EQ(m.record().lease.count(), 2000);
    // Later heartbeats keep the lease and leave the data alone.
    expect_refresh(m.next(at(400ms)), "v1", "v2", at(2000ms), 2000ms);
    expect_wait(m.on_write(at(410ms), ok, with_record(ours("v2", 2000ms))), at(700ms));
    EXPECT_EQ(ms(m.deadline()), ms(at(2300ms)));
}

TEST(LeaseMachine, RequestedHeartbeatThatFailsKeepsItsDataForTheRetry) {
    auto m = machine();
    m.request_heartbeat(std::nullopt, payload);
    expect_refresh(m.next(at(100ms)), "g0", "v1", at(900ms), lease, payload);
    expect_wait(m.on_write(at(110ms), errc::throttled, no_record), at(160ms));
    expect_refresh(m.next(at(160ms)), "g0", "v2", at(900ms), lease, payload);
}

// Suspected bug: a lease change asked for while a heartbeat is in flight is
// credited to that heartbeat, which wrote the old lease into the item, and
// the asked-for data is dropped without ever being written.
TEST(LeaseMachine, HeartbeatRequestedDuringAHeartbeatAppliesToTheNextOne) {
    auto m = machine();
    expect_refresh(m.next(at(300ms)), "g0", "v1", at(900ms));
    m.request_heartbeat(5000ms, payload);
    // The item says leaseDuration = 1000 ms: contenders wait only that long.
    const auto a = m.on_write(at(350ms), ok, with_record(ours("v1")));
    EXPECT_EQ(ms(m.deadline()), ms(at(1200ms)));
    EXPECT_EQ(m.record().lease.count(), lease.count());
    expect_refresh(a, "v1", "v2", at(1200ms), 5000ms, payload);
}

TEST(LeaseMachine, DangerIsAnnouncedOnceBeforeTheDeadlineUntilAHeartbeatSucceeds) {
    auto p = default_params();
    p.danger_zone = 200ms;
    auto m = machine(p);
    expect_wait(m.next(at(0ms)), at(300ms));
    expect_refresh(m.next(at(300ms)), "g0", "v1", at(900ms));
    expect_wait(m.on_write(at(650ms), errc::throttled, no_record), at(700ms));
    EXPECT_EQ(m.next(at(700ms)).type, lease_action::kind::danger);
    expect_refresh(m.next(at(700ms)), "g0", "v2", at(900ms));
    // The deadline moves to 1600 ms: a new danger zone from 1400 ms.
    expect_wait(m.on_write(at(720ms), ok, with_record(ours("v2"))), at(1000ms));
    expect_refresh(m.next(at(1000ms)), "v2", "v3", at(1600ms));
    expect_wait(m.on_write(at(1350ms), errc::throttled, no_record), at(1400ms));
    EXPECT_EQ(m.next(at(1400ms)).type, lease_action::kind::danger);
    expect_refresh(m.next(at(1400ms)), "v2", "v4", at(1600ms));
    expect_wait(m.on_write(at(1410ms), errc::throttled, no_record), at(1460ms));
    expect_refresh(m.next(at(1460ms)), "v2", "v5", at(1600ms));
    expect_ended(m.on_write(at(1600ms), errc::timeout, no_record), loss_reason::expired);
}

TEST(LeaseMachine, DangerWakesTheShellWithoutAutomaticHeartbeats) {
    auto p = default_params();
    p.danger_zone = 200ms;
    p.automatic_heartbeats = false;
    auto m = machine(p);
    expect_wait(m.next(at(0ms)), at(700ms));
    EXPECT_EQ(m.next(at(700ms)).type, lease_action::kind::danger);
    expect_wait(m.next(at(700ms)), at(900ms));
    expect_ended(m.next(at(900ms)), loss_reason::expired);
}

// Debatable (timeliness, not safety): while backing off after a failed
// heartbeat, the danger announcement waits for the end of the back-off.
TEST(LeaseMachine, DangerIsAnnouncedOnTimeDuringABackOff) {
    auto p = default_params();
    p.danger_zone = 200ms;
    auto m = machine(p);
    m.next(at(300ms));
    expect_wait(m.on_write(at(680ms), errc::throttled, no_record), at(700ms));
}

TEST(LeaseMachine, NoDangerWhenTheZoneIsZero) {
    auto p = default_params();
    p.automatic_heartbeats = false;
    auto m = machine(p);
    expect_wait(m.next(at(0ms)), at(900ms));
    expect_wait(m.next(at(899ms)), at(900ms));
    expect_ended(m.next(at(900ms)), loss_reason::expired);
}

TEST(LeaseMachine, ManualHeartbeatsOnlyWhenRequested) {
    auto p = default_params();
    p.automatic_heartbeats = false;
    auto m = machine(p);
    expect_wait(m.next(at(0ms)), at(900ms));
    expect_wait(m.next(at(500ms)), at(900ms));
    m.request_heartbeat();
    expect_refresh(m.next(at(600ms)), "g0", "v1", at(900ms));
    expect_wait(m.on_write(at(650ms), ok, with_record(ours("v1"))), at(1500ms));
    EXPECT_EQ(ms(m.deadline()), ms(at(1500ms)));
    expect_wait(m.next(at(1200ms)), at(1500ms));
    expect_ended(m.next(at(1500ms)), loss_reason::expired);
}

// After the end, every event answers the same end. Feeding a write or read
// outcome with nothing in flight is outside the shell's contract, so this is
// debatable; the machine should still not change its reason.
TEST(LeaseMachine, EndedIsFinal) {
    for (const loss_reason reason :
         {loss_reason::expired, loss_reason::stolen, loss_reason::released}) {
        SCOPED_TRACE(to_string(reason));
        auto m = machine();
        if (reason == loss_reason::expired) {
            expect_ended(m.next(at(900ms)), reason);
        } else if (reason == loss_reason::stolen) {
            m.next(at(300ms));
            expect_ended(m.on_write(at(310ms), condition_failed, no_record), reason);
        } else {
            m.request_release();
            m.next(at(100ms));
            expect_ended(m.on_write(at(110ms), ok, no_record), reason);
        }
        expect_ended(m.next(at(1000ms)), reason);
        m.request_heartbeat();
        expect_ended(m.next(at(1000ms)), reason);
        m.request_release();
        expect_ended(m.next(at(1000ms)), reason);
        expect_ended(m.on_write(at(1000ms), errc::timeout, no_record), reason);
        expect_ended(m.on_write(at(1000ms), errc::throttled, no_record), reason);
        expect_ended(m.on_read(at(1000ms), errc::throttled, std::nullopt), reason);
        expect_ended(m.on_write(at(1000ms), ok, with_record(ours("g0"))), reason);
        expect_ended(m.on_write(at(1000ms), condition_failed, no_record), reason);
        expect_ended(m.on_read(at(1000ms), ok, std::nullopt), reason);
        EXPECT_EQ(m.reason(), reason);
    }
}

}  // namespace

TEST(LeaseMachine, JitterBringsTheFirstHeartbeatUpToHalfAPeriodEarlierAndLaterOnesATenth) {
    lease_params p = default_params();
    p.random_unit = [] { return 0.5; };
    auto m = machine(std::move(p));
    expect_wait(m.next(at(0ms)), at(225ms));  // 300 − 300 · 0.5 · 0.5
    auto hb = m.next(at(225ms));
    expect_refresh(hb, "g0", "v1", at(900ms));
    expect_wait(m.on_write(at(240ms), ok, no_record), at(510ms));  // 225 + 300 − 300 · 0.1 · 0.5
    EXPECT_EQ(ms(m.deadline()), 1125);  // the deadline itself never moves with jitter
}

TEST(LeaseMachine, HeartbeatsFallOnTicksEarlierThanDueNeverLater) {
    lease_params p = default_params();
    p.heartbeat_tick = 40ms;
    auto m = machine(std::move(p));
    expect_wait(m.next(at(0ms)), at(280ms));  // 300 down to a multiple of 40 (t0 is one)
    auto hb = m.next(at(280ms));
    expect_refresh(hb, "g0", "v1", at(900ms));
    expect_wait(m.on_write(at(290ms), ok, no_record), at(560ms));  // 280 + 300 = 580 → 560
    EXPECT_EQ(ms(m.deadline()), 280 + 900);                        // deadlines are never rounded
}
