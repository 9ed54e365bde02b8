// acquire_machine on scripted sequences: a hand-advanced steady clock, record
// versions "v1", "v2", ... and every action checked field by field against
// the protocol of docs/design.md.

#include "lock/acquire_machine.hpp"

#include "scripted_clock.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <ostream>
#include <vector>

using namespace dynalock;
using namespace dynalock::lock;
using namespace std::chrono_literals;

namespace dynalock::lock {
void PrintTo(acquire_action::kind k, std::ostream* os) {
    constexpr const char* names[] = {"write",   "read",        "read_session", "wait",
                                     "granted", "not_granted", "failed"};
    *os << names[static_cast<int>(k)];
}
}  // namespace dynalock::lock

namespace {

using namespace dynalock::lock::test;
constexpr milliseconds our_lease = 10s;
constexpr milliseconds holder_lease = 1000ms;
constexpr milliseconds poll = 300ms;
constexpr milliseconds request_timeout = 2s;

acquire_params default_params() {
    acquire_params p;
    p.key = key;
    p.owner = me;
    p.lease = our_lease;
    p.poll_period = poll;
    p.request_timeout = request_timeout;
    return p;
}

acquire_machine machine(acquire_params p = default_params()) {
    return acquire_machine(std::move(p), [n = 0]() mutable { return "v" + std::to_string(++n); });
}

lock_record record_of(std::string owner, std::string version, milliseconds lease = holder_lease,
                      bool released = false) {
    lock_record r;
    r.key = key;
    r.owner = std::move(owner);
    r.lease = lease;
    r.record_version = std::move(version);
    r.fence = 7;
    r.released = released;
    return r;
}

lock_record holder(std::string version) {
    return record_of("holder", std::move(version));
}
lock_record released(std::string version) {
    return record_of("holder", std::move(version), holder_lease, true);
}
lock_record ours(std::string version) {
    return record_of(me, std::move(version), our_lease);
}

lock_record malformed(lock_record r, std::string why) {
    r.malformed = std::move(why);
    return r;
}

const std::string bad_data = "data is the string \"text\", expected binary data, or no data";

write_result with_record(lock_record r) {
    return write_result{std::move(r)};
}
const write_result no_record{};
const error_code ok{};
const error_code condition_failed = errc::conditional_check_failed;

// The expect_* helpers report their caller's line (__builtin_LINE, since clang 14
// has no std::source_location), so that a failure names the scripted step.
// The grant write the machine must emit for `p`, sent at `sent`.
void expect_grant(const acquire_action& a, clock::time_point sent, write_condition condition,
                  const std::string& expected_version, const std::string& new_version,
                  const acquire_params& p = default_params(), int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, acquire_action::kind::write);
    const lock_write& w = a.write;
    EXPECT_EQ(w.key, p.key);
    EXPECT_EQ(w.kind, write_kind::grant);
    EXPECT_EQ(w.condition, condition);
    EXPECT_EQ(w.require_existing, p.require_existing);
    EXPECT_EQ(w.expected_version, expected_version);
    EXPECT_EQ(w.owner, p.owner);
    EXPECT_EQ(w.new_version, new_version);
    EXPECT_EQ(w.lease.count(), p.lease.count());
    EXPECT_EQ(w.data_action, p.data_action);
    EXPECT_EQ(w.data, p.data);
    EXPECT_EQ(w.extra, p.extra);
    EXPECT_FALSE(w.delete_item);
    EXPECT_EQ(ms(a.until), ms(sent + p.request_timeout));
}

void expect_read(const acquire_action& a, clock::time_point sent, int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, acquire_action::kind::read);
    EXPECT_EQ(a.write.key, key);
    EXPECT_EQ(ms(a.until), ms(sent + request_timeout));
}

void expect_wait(const acquire_action& a, clock::time_point until, int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, acquire_action::kind::wait);
    EXPECT_EQ(ms(a.until), ms(until));
}

void expect_granted(const acquire_action& a, const lock_record& r, clock::time_point sent_at,
                    int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, acquire_action::kind::granted);
    EXPECT_EQ(a.record, r);
    EXPECT_EQ(ms(a.sent_at), ms(sent_at));
    EXPECT_FALSE(a.ec);
}

void expect_not_granted(const acquire_action& a, const std::optional<lock_record>& holder,
                        int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, acquire_action::kind::not_granted);
    EXPECT_EQ(a.ec, errc::lock_not_granted);
    EXPECT_EQ(a.record, holder.value_or(lock_record{}));
}

void expect_failed(const acquire_action& a, errc e, const std::vector<std::string>& said,
                   int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, acquire_action::kind::failed);
    EXPECT_EQ(a.ec, e) << a.ec.message();
    for (const auto& part : said) {
        EXPECT_NE(a.message.find(part), std::string::npos) << a.message << "\nlacks: " << part;
    }
}

// The release of a grant that applied on an item that is not a lock item:
// by the version the grant wrote, as its owner, never deleting.
void expect_withdrawal(const acquire_action& a, clock::time_point sent, const std::string& version,
                       int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, acquire_action::kind::write);
    const lock_write& w = a.write;
    EXPECT_EQ(w.key, key);
    EXPECT_EQ(w.kind, write_kind::release);
    EXPECT_EQ(w.condition, write_condition::version_and_owner);
    EXPECT_EQ(w.expected_version, version);
    EXPECT_EQ(w.owner, me);
    EXPECT_EQ(w.data_action, data_change::keep);
    EXPECT_FALSE(w.delete_item);
    EXPECT_EQ(ms(a.until), ms(sent + request_timeout));
}

void expect_observed(const acquire_machine& m, const std::string& version, clock::time_point since,
                     int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    ASSERT_TRUE(m.observed());
    EXPECT_EQ(m.observed()->record_version, version);
    EXPECT_EQ(m.observed()->lease.count(), holder_lease.count());
    EXPECT_EQ(ms(m.observed()->since), ms(since));
}

TEST(AcquireMachine, FreeLockIsGrantedWithTheSendTime) {
    auto m = machine();
    expect_grant(m.start(at(0ms)), at(0ms), write_condition::free, "", "v1");
    expect_granted(m.on_write(at(40ms), ok, with_record(ours("v1"))), ours("v1"), at(0ms));
    EXPECT_FALSE(m.observed());
}

TEST(AcquireMachine, GrantAnsweredWithoutItsItemIsReadBack) {
    auto m = machine();
    m.start(at(0ms));
    // It applied: the item tells the fence, and the lease counts from the send.
    expect_read(m.on_write(at(40ms), ok, no_record), at(40ms));
    expect_granted(m.on_read(at(50ms), ok, ours("v1")), ours("v1"), at(0ms));
}

TEST(AcquireMachine, DataAndExtraAttributesGoIntoTheGrant) {
    auto p = default_params();
    p.data_action = data_change::replace;
    p.data = {std::byte{1}, std::byte{2}};
    p.extra = {{"region", attribute_value{std::string{"eu"}}}};
    auto m = machine(p);
    expect_grant(m.start(at(0ms)), at(0ms), write_condition::free, "", "v1", p);
}

TEST(AcquireMachine, HeldLockIsTakenOnlyAfterTheSameVersionOutlivesItsStoredLease) {
    auto m = machine();
    m.start(at(0ms));
    // The lease of h1 counts from when the failed write's answer arrived: 10 ms.
    expect_wait(m.on_write(at(10ms), condition_failed, with_record(holder("h1"))), at(310ms));
    expect_observed(m, "h1", at(10ms));
    expect_read(m.on_wake(at(310ms)), at(310ms));
    expect_wait(m.on_read(at(320ms), ok, holder("h1")), at(620ms));
    expect_read(m.on_wake(at(620ms)), at(620ms));
    expect_wait(m.on_read(at(630ms), ok, holder("h1")), at(930ms));
    expect_read(m.on_wake(at(930ms)), at(930ms));
    // One millisecond short of the stored lease: still no takeover, wake at its end.
    expect_wait(m.on_read(at(1009ms), ok, holder("h1")), at(1010ms));
    expect_observed(m, "h1", at(10ms));
    expect_grant(m.on_wake(at(1010ms)), at(1010ms), write_condition::version, "h1", "v2");
    expect_granted(m.on_write(at(1050ms), ok, with_record(ours("v2"))), ours("v2"), at(1010ms));
}

TEST(AcquireMachine, ReadShowingTheVersionForTheWholeLeaseTakesOverAtOnce) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(10ms), condition_failed, with_record(holder("h1")));
    m.on_wake(at(310ms));
    // A slow read that returns exactly when h1 has been seen for its lease.
    expect_grant(m.on_read(at(1010ms), ok, holder("h1")), at(1010ms), write_condition::version,
                 "h1", "v2");
}

TEST(AcquireMachine, HeartbeatSeenOnAReadRestartsTheObservation) {
    auto p = default_params();
    p.budget = 10s;
    auto m = machine(p);
    m.start(at(0ms));
    expect_wait(m.on_write(at(10ms), condition_failed, with_record(holder("h1"))), at(310ms));
    expect_read(m.on_wake(at(310ms)), at(310ms));
    expect_wait(m.on_read(at(320ms), ok, holder("h2")), at(620ms));
    expect_observed(m, "h2", at(320ms));
    m.on_wake(at(620ms));
    expect_wait(m.on_read(at(630ms), ok, holder("h2")), at(930ms));
    m.on_wake(at(930ms));
    // h1 would have run out at 1010 ms; h2 counts from 320 ms.
    expect_wait(m.on_read(at(940ms), ok, holder("h2")), at(1240ms));
    m.on_wake(at(1240ms));
    expect_wait(m.on_read(at(1250ms), ok, holder("h2")), at(1320ms));
    expect_grant(m.on_wake(at(1320ms)), at(1320ms), write_condition::version, "h2", "v2", p);
}

TEST(AcquireMachine, HeartbeatingHolderIsNeverTakenOverAndTheDefaultBudgetEnds) {
    auto m = machine();
    m.start(at(0ms));
    // Default budget: first observation (10 ms) + stored lease + poll = 1310 ms.
    expect_wait(m.on_write(at(10ms), condition_failed, with_record(holder("h1"))), at(310ms));
    expect_read(m.on_wake(at(310ms)), at(310ms));
    expect_wait(m.on_read(at(320ms), ok, holder("h2")), at(620ms));
    expect_read(m.on_wake(at(620ms)), at(620ms));
    expect_wait(m.on_read(at(630ms), ok, holder("h3")), at(930ms));
    expect_read(m.on_wake(at(930ms)), at(930ms));
    expect_wait(m.on_read(at(940ms), ok, holder("h4")), at(1240ms));
    expect_read(m.on_wake(at(1240ms)), at(1240ms));
    expect_wait(m.on_read(at(1250ms), ok, holder("h5")), at(1310ms));
    expect_not_granted(m.on_wake(at(1310ms)), holder("h5"));
    expect_observed(m, "h5", at(1250ms));
}

TEST(AcquireMachine, ExplicitBudgetIsHonouredExactly) {
    auto p = default_params();
    p.budget = 500ms;
    auto m = machine(p);
    m.start(at(0ms));
    expect_wait(m.on_write(at(10ms), condition_failed, with_record(holder("h1"))), at(310ms));
    expect_read(m.on_wake(at(310ms)), at(310ms));
    expect_wait(m.on_read(at(320ms), ok, holder("h1")), at(500ms));
    expect_not_granted(m.on_wake(at(500ms)), holder("h1"));
}

TEST(AcquireMachine, ExplicitBudgetEndsWhenAnAnswerArrivesAfterIt) {
    auto p = default_params();
    p.budget = 500ms;
    auto m = machine(p);
    m.start(at(0ms));
    m.on_write(at(10ms), condition_failed, with_record(holder("h1")));
    m.on_wake(at(310ms));
    expect_not_granted(m.on_read(at(600ms), ok, holder("h1")), holder("h1"));
}

TEST(AcquireMachine, ReleasedItemIsWrittenAtOnceWithTheFreeCondition) {
    auto m = machine();
    m.start(at(0ms));
    expect_grant(m.on_write(at(10ms), condition_failed, with_record(released("r1"))), at(10ms),
                 write_condition::free, "", "v2");
    expect_granted(m.on_write(at(30ms), ok, with_record(ours("v2"))), ours("v2"), at(10ms));
}

TEST(AcquireMachine, ConsistentReleasedTakesOnlyTheReleasedVersionSeen) {
    auto p = default_params();
    p.consistent_released = true;
    auto m = machine(p);
    m.start(at(0ms));
    expect_grant(m.on_write(at(10ms), condition_failed, with_record(released("r1"))), at(10ms),
                 write_condition::version, "r1", "v2", p);
}

TEST(AcquireMachine, ItemDeletedBetweenReadsIsWrittenFree) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(10ms), condition_failed, with_record(holder("h1")));
    expect_read(m.on_wake(at(310ms)), at(310ms));
    expect_grant(m.on_read(at(320ms), ok, std::nullopt), at(320ms), write_condition::free, "",
                 "v2");
}

TEST(AcquireMachine, LosingFreeRacesWaitsAfterThreeImmediateRetries) {
    auto m = machine();
    m.start(at(0ms));
    expect_grant(m.on_write(at(10ms), condition_failed, with_record(released("r1"))), at(10ms),
                 write_condition::free, "", "v2");
    expect_grant(m.on_write(at(20ms), condition_failed, with_record(released("r2"))), at(20ms),
                 write_condition::free, "", "v3");
    expect_grant(m.on_write(at(30ms), condition_failed, no_record), at(30ms), write_condition::free,
                 "", "v4");
    expect_wait(m.on_write(at(40ms), condition_failed, with_record(released("r3"))), at(340ms));
    expect_read(m.on_wake(at(340ms)), at(340ms));
    // The guard starts over after the pause.
    expect_grant(m.on_read(at(350ms), ok, released("r3")), at(350ms), write_condition::free, "",
                 "v5");
}

// Suspected bug: the pause of the livelock guard is clamped to the end of an
// observation that ran out long ago, so it is no pause at all.
TEST(AcquireMachine, LivelockGuardPausesEvenAfterAnObservationRanOut) {
    auto p = default_params();
    p.budget = 10s;
    auto m = machine(p);
    m.start(at(0ms));
    expect_wait(m.on_write(at(10ms), condition_failed, with_record(holder("h1"))), at(310ms));
    m.on_wake(at(310ms));
    expect_wait(m.on_read(at(320ms), ok, holder("h1")), at(620ms));
    m.on_wake(at(620ms));
    expect_wait(m.on_read(at(630ms), ok, holder("h1")), at(930ms));
    m.on_wake(at(930ms));
    expect_wait(m.on_read(at(940ms), ok, holder("h1")), at(1010ms));
    expect_grant(m.on_wake(at(1010ms)), at(1010ms), write_condition::version, "h1", "v2", p);
    // Another contender was faster, and then keeps winning released races.
    expect_grant(m.on_write(at(1020ms), condition_failed, with_record(released("c1"))), at(1020ms),
                 write_condition::free, "", "v3", p);
    expect_grant(m.on_write(at(1030ms), condition_failed, with_record(released("c2"))), at(1030ms),
                 write_condition::free, "", "v4", p);
    expect_grant(m.on_write(at(1040ms), condition_failed, with_record(released("c3"))), at(1040ms),
                 write_condition::free, "", "v5", p);
    expect_wait(m.on_write(at(1050ms), condition_failed, with_record(released("c4"))), at(1350ms));
}

TEST(AcquireMachine, AmbiguousGrantThatAppliedIsGrantedWithItsSendTime) {
    for (const errc e : {errc::timeout, errc::connection_lost, errc::internal_server_error,
                         errc::crc32_mismatch}) {
        SCOPED_TRACE(make_error_code(e).message());
        auto m = machine();
        m.start(at(0ms));
        expect_read(m.on_write(at(2000ms), e, no_record), at(2000ms));
        expect_granted(m.on_read(at(2010ms), ok, ours("v1")), ours("v1"), at(0ms));
    }
}

TEST(AcquireMachine, AmbiguousGrantThatDidNotApplyIsAnObservation) {
    auto m = machine();
    m.start(at(0ms));
    expect_read(m.on_write(at(2000ms), errc::timeout, no_record), at(2000ms));
    expect_wait(m.on_read(at(2010ms), ok, holder("h1")), at(2310ms));
    expect_observed(m, "h1", at(2010ms));
}

TEST(AcquireMachine, AmbiguousGrantOnAnItemWithOurNameButAnotherVersionIsNotOurs) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(2000ms), errc::connection_lost, no_record);
    // A previous run of the same owner name holds it: not this write.
    const lock_record previous_run = record_of(me, "old", holder_lease);
    expect_wait(m.on_read(at(2010ms), ok, previous_run), at(2310ms));
    ASSERT_TRUE(m.observed());
    EXPECT_EQ(m.observed()->record_version, "old");
}

TEST(AcquireMachine, AmbiguousTakeoverThatDidNotApplyIsSentAgain) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(10ms), condition_failed, with_record(holder("h1")));
    m.on_wake(at(310ms));
    m.on_read(at(320ms), ok, holder("h1"));
    m.on_wake(at(620ms));
    m.on_read(at(630ms), ok, holder("h1"));
    m.on_wake(at(930ms));
    m.on_read(at(940ms), ok, holder("h1"));
    expect_grant(m.on_wake(at(1010ms)), at(1010ms), write_condition::version, "h1", "v2");
    expect_read(m.on_write(at(1100ms), errc::internal_server_error, no_record), at(1100ms));
    expect_grant(m.on_read(at(1110ms), ok, holder("h1")), at(1110ms), write_condition::version,
                 "h1", "v3");
}

TEST(AcquireMachine, ReadErrorWhileResolvingAnAmbiguousGrantReadsAgain) {
    auto m = machine();
    m.start(at(0ms));
    expect_read(m.on_write(at(100ms), errc::timeout, no_record), at(100ms));
    expect_wait(m.on_read(at(200ms), errc::throttled, std::nullopt), at(500ms));
    expect_read(m.on_wake(at(500ms)), at(500ms));
    expect_wait(m.on_read(at(510ms), errc::timeout, std::nullopt), at(810ms));
    expect_read(m.on_wake(at(810ms)), at(810ms));
    expect_granted(m.on_read(at(820ms), ok, ours("v1")), ours("v1"), at(0ms));
}

TEST(AcquireMachine, ReadErrorWhileResolvingFailsATry) {
    auto p = default_params();
    p.wait = false;
    auto m = machine(p);
    m.start(at(0ms));
    expect_read(m.on_write(at(100ms), errc::timeout, no_record), at(100ms));
    const auto a = m.on_read(at(200ms), errc::throttled, std::nullopt);
    EXPECT_EQ(a.type, acquire_action::kind::failed);
    EXPECT_EQ(a.ec, errc::throttled);
}

TEST(AcquireMachine, RetryableErrorsWaitAPollAndRetry) {
    auto m = machine();
    m.start(at(0ms));
    expect_wait(m.on_write(at(10ms), errc::throttled, no_record), at(310ms));
    expect_read(m.on_wake(at(310ms)), at(310ms));
    expect_wait(m.on_read(at(320ms), ok, holder("h1")), at(620ms));
    expect_read(m.on_wake(at(620ms)), at(620ms));
    expect_wait(m.on_read(at(630ms), errc::connect_failed, std::nullopt), at(930ms));
    expect_read(m.on_wake(at(930ms)), at(930ms));
    expect_wait(m.on_read(at(940ms), errc::throttled, std::nullopt), at(1240ms));
    // h1 was first seen at 320 ms: it runs out at 1320 ms.
    expect_read(m.on_wake(at(1240ms)), at(1240ms));
    expect_wait(m.on_read(at(1250ms), ok, holder("h1")), at(1320ms));
    expect_grant(m.on_wake(at(1320ms)), at(1320ms), write_condition::version, "h1", "v2");
}

// Suspected bug: a throttled takeover is retried with no pause at all, the
// wait being clamped to the end of the (already passed) observation.
TEST(AcquireMachine, ThrottledTakeoverPausesBeforeRetrying) {
    auto p = default_params();
    p.budget = 10s;
    auto m = machine(p);
    m.start(at(0ms));
    m.on_write(at(10ms), condition_failed, with_record(holder("h1")));
    m.on_wake(at(310ms));
    m.on_read(at(320ms), ok, holder("h1"));
    m.on_wake(at(620ms));
    m.on_read(at(630ms), ok, holder("h1"));
    m.on_wake(at(930ms));
    m.on_read(at(940ms), ok, holder("h1"));
    expect_grant(m.on_wake(at(1010ms)), at(1010ms), write_condition::version, "h1", "v2", p);
    expect_wait(m.on_write(at(1020ms), errc::throttled, no_record), at(1320ms));
}

TEST(AcquireMachine, NonRetryableErrorsFailWithTheirCode) {
    for (const errc e : {errc::resource_not_found, errc::access_denied, errc::validation_failed}) {
        SCOPED_TRACE(make_error_code(e).message());
        auto on_write = machine();
        on_write.start(at(0ms));
        auto a = on_write.on_write(at(10ms), e, no_record);
        EXPECT_EQ(a.type, acquire_action::kind::failed);
        EXPECT_EQ(a.ec, e);

        auto on_read = machine();
        on_read.start(at(0ms));
        on_read.on_write(at(10ms), condition_failed, with_record(holder("h1")));
        expect_read(on_read.on_wake(at(310ms)), at(310ms));
        a = on_read.on_read(at(320ms), e, std::nullopt);
        EXPECT_EQ(a.type, acquire_action::kind::failed);
        EXPECT_EQ(a.ec, e);
    }
}

TEST(AcquireMachine, TryTakesAFreeLock) {
    auto p = default_params();
    p.wait = false;
    auto m = machine(p);
    expect_grant(m.start(at(0ms)), at(0ms), write_condition::free, "", "v1", p);
    expect_granted(m.on_write(at(10ms), ok, with_record(ours("v1"))), ours("v1"), at(0ms));
}

TEST(AcquireMachine, TryOnAHeldLockIsNotGrantedAtOnce) {
    auto p = default_params();
    p.wait = false;
    auto m = machine(p);
    m.start(at(0ms));
    expect_not_granted(m.on_write(at(10ms), condition_failed, with_record(holder("h1"))),
                       holder("h1"));
    expect_observed(m, "h1", at(10ms));
}

TEST(AcquireMachine, TryNeverWaitsOnRetryableErrors) {
    auto p = default_params();
    p.wait = false;
    auto m = machine(p);
    m.start(at(0ms));
    const auto a = m.on_write(at(10ms), errc::throttled, no_record);
    EXPECT_EQ(a.type, acquire_action::kind::failed);
    EXPECT_EQ(a.ec, errc::throttled);
}

TEST(AcquireMachine, TryLosingReleasedRacesIsNotGrantedInsteadOfWaiting) {
    auto p = default_params();
    p.wait = false;
    auto m = machine(p);
    m.start(at(0ms));
    m.on_write(at(10ms), condition_failed, with_record(released("r1")));
    m.on_write(at(20ms), condition_failed, with_record(released("r2")));
    m.on_write(at(30ms), condition_failed, with_record(released("r3")));
    expect_not_granted(m.on_write(at(40ms), condition_failed, with_record(released("r4"))),
                       std::nullopt);
}

TEST(AcquireMachine, TryWithAnExpiredKnownObservationTakesOverAtStart) {
    auto p = default_params();
    p.wait = false;
    p.known = observation{"h1", holder_lease, at(-1000ms)};
    auto m = machine(p);
    expect_grant(m.start(at(0ms)), at(0ms), write_condition::version, "h1", "v1", p);
    expect_granted(m.on_write(at(10ms), ok, with_record(ours("v1"))), ours("v1"), at(0ms));
}

TEST(AcquireMachine, TryWithAKnownObservationNotYetExpiredWritesFreeThenGivesUp) {
    auto p = default_params();
    p.wait = false;
    p.known = observation{"h1", holder_lease, at(-999ms)};
    auto m = machine(p);
    expect_grant(m.start(at(0ms)), at(0ms), write_condition::free, "", "v1", p);
    expect_not_granted(m.on_write(at(0ms), condition_failed, with_record(holder("h1"))),
                       holder("h1"));
    // The observation keeps its start: the cache must not restart it.
    expect_observed(m, "h1", at(-999ms));
}

TEST(AcquireMachine, WaitingWithAKnownObservationWakesWhenItRunsOut) {
    auto p = default_params();
    p.known = observation{"h1", holder_lease, at(-500ms)};
    auto m = machine(p);
    expect_grant(m.start(at(0ms)), at(0ms), write_condition::free, "", "v1");
    expect_wait(m.on_write(at(10ms), condition_failed, with_record(holder("h1"))), at(310ms));
    m.on_wake(at(310ms));
    expect_wait(m.on_read(at(320ms), ok, holder("h1")), at(500ms));
    expect_grant(m.on_wake(at(500ms)), at(500ms), write_condition::version, "h1", "v2");
}

TEST(AcquireMachine, RequireExistingOnAMissingItemIsNotGranted) {
    auto p = default_params();
    p.require_existing = true;
    auto m = machine(p);
    expect_grant(m.start(at(0ms)), at(0ms), write_condition::free, "", "v1", p);
    expect_not_granted(m.on_write(at(10ms), condition_failed, no_record), std::nullopt);
}

TEST(AcquireMachine, RequireExistingOnAnItemDeletedWhileWaitingIsNotGranted) {
    auto p = default_params();
    p.require_existing = true;
    auto m = machine(p);
    m.start(at(0ms));
    m.on_write(at(10ms), condition_failed, with_record(holder("h1")));
    expect_read(m.on_wake(at(310ms)), at(310ms));
    const auto a = m.on_read(at(320ms), ok, std::nullopt);
    EXPECT_EQ(a.type, acquire_action::kind::not_granted);
    EXPECT_EQ(a.ec, errc::lock_not_granted);
}

}  // namespace

// --- items that are not lock items, and fences at their largest ------------------

TEST(AcquireMachine, AMalformedItemFailsNamingTheLockAndWhatIsWrong) {
    const std::string why = "leaseDuration is the string \"abc\", expected a whole number";
    auto m = machine();
    m.start(at(0ms));
    // The grant's condition failed; the item as it is cannot be read as a lock.
    expect_failed(m.on_write(at(10ms), condition_failed, with_record(malformed(holder("h1"), why))),
                  errc::malformed_item, {"lock \"orders\" (sort key \"eu\")", why});
    EXPECT_FALSE(m.observed());
}

TEST(AcquireMachine, AnItemThatTurnsMalformedWhileWaitingFailsTheWait) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(10ms), condition_failed, with_record(holder("h1")));
    expect_read(m.on_wake(at(310ms)), at(310ms));
    const lock_record bad = malformed(holder("h1"), "ownerName is missing, expected a string");
    expect_failed(m.on_read(at(320ms), errc::malformed_item, bad), errc::malformed_item,
                  {"orders", "ownerName is missing"});
}

TEST(AcquireMachine, AFenceAtItsLargestIsRefusedWithoutAnotherWrite) {
    constexpr auto largest = std::numeric_limits<std::uint64_t>::max();
    for (const bool is_released : {true, false}) {
        SCOPED_TRACE(is_released ? "released" : "held");
        lock_record top = is_released ? released("h1") : holder("h1");
        top.fence = largest;
        auto m = machine();
        m.start(at(0ms));
        // The store's condition refused the grant; no grant can ever apply.
        expect_failed(m.on_write(at(10ms), condition_failed, with_record(top)),
                      errc::fence_exhausted, {"orders", "18446744073709551615", "nothing"});
    }
    // One below is still granted (to the largest fence).
    lock_record below = released("h1");
    below.fence = largest - 1;
    auto m = machine();
    m.start(at(0ms));
    expect_grant(m.on_write(at(10ms), condition_failed, with_record(below)), at(10ms),
                 write_condition::free, "", "v2");
}

TEST(AcquireMachine, AGrantThatAppliedOnAMalformedItemIsReleasedByItsVersion) {
    for (const error_code release_answer : {ok, make_error_code(errc::malformed_item)}) {
        SCOPED_TRACE(release_answer.message());
        auto m = machine();
        m.start(at(0ms));
        // The grant applied (the item carries v1), but `data` is not ours to fix.
        expect_withdrawal(m.on_write(at(40ms), errc::malformed_item,
                                     with_record(malformed(ours("v1"), bad_data))),
                          at(40ms), "v1");
        expect_failed(
            m.on_write(at(80ms), release_answer, with_record(malformed(ours("v1"), bad_data))),
            errc::malformed_item,
            {"lock \"orders\"", bad_data, "the grant had applied", "released again"});
    }
}

TEST(AcquireMachine, AnAmbiguousGrantResolvedToAMalformedItemOfOursIsReleased) {
    auto m = machine();
    m.start(at(0ms));
    expect_read(m.on_write(at(2000ms), errc::timeout, no_record), at(2000ms));
    expect_withdrawal(m.on_read(at(2010ms), errc::malformed_item, malformed(ours("v1"), bad_data)),
                      at(2010ms), "v1");
    expect_failed(m.on_write(at(2050ms), ok, no_record), errc::malformed_item,
                  {bad_data, "released again"});
}

TEST(AcquireMachine, AMalformedItemNotOursAfterAnAmbiguousGrantIsNotReleased) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(2000ms), errc::timeout, no_record);
    // Another version: our grant did not apply; nothing of ours to release.
    expect_failed(m.on_read(at(2010ms), errc::malformed_item, malformed(holder("h1"), bad_data)),
                  errc::malformed_item, {bad_data});
}

TEST(AcquireMachine, AReleaseOfAMalformedGrantOvertakenByAnotherWriterSaysSo) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(40ms), errc::malformed_item, with_record(malformed(ours("v1"), bad_data)));
    expect_failed(m.on_write(at(80ms), condition_failed, with_record(holder("h2"))),
                  errc::malformed_item, {bad_data, "another writer changed the item"});
}

TEST(AcquireMachine, AFailedReleaseOfAMalformedGrantIsRetriedWithinItsLeaseThenReported) {
    auto m = machine();
    m.start(at(0ms));
    expect_withdrawal(
        m.on_write(at(40ms), errc::malformed_item, with_record(malformed(ours("v1"), bad_data))),
        at(40ms), "v1");
    // Ambiguous or transient: the same conditioned release again after a poll.
    expect_wait(m.on_write(at(2040ms), errc::timeout, no_record), at(2340ms));
    expect_withdrawal(m.on_wake(at(2340ms)), at(2340ms), "v1");
    expect_wait(m.on_write(at(2400ms), errc::throttled, no_record), at(2700ms));
    expect_withdrawal(m.on_wake(at(2700ms)), at(2700ms), "v1");
    // A poll later the grant's own lease (10 s from its send at 0) has run out.
    expect_failed(m.on_write(at(9800ms), errc::timeout, no_record), errc::malformed_item,
                  {bad_data, "releasing it failed", "lease of 10000 ms"});
}

TEST(AcquireMachine, AReleaseOfAMalformedGrantRefusedForGoodIsReportedAtOnce) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(40ms), errc::malformed_item, with_record(malformed(ours("v1"), bad_data)));
    expect_failed(m.on_write(at(60ms), errc::access_denied, no_record), errc::malformed_item,
                  {bad_data, "releasing it failed (access denied)"});
}

// --- locks held under a session (docs/sessions.md) --------------------------------

const lock_key session_key{"session/abc", "eu"};
constexpr milliseconds session_lease = 3000ms;

// The lock, held by "holder" under session_key at epoch 4, version "lv".
lock_record held_under_session(std::uint64_t epoch = 4) {
    lock_record r = record_of("holder", "lv", 0ms);
    r.session = session_ref{session_key, epoch};
    return r;
}

lock_record session_item(std::string version, std::uint64_t epoch = 4, bool released = false) {
    lock_record r;
    r.key = session_key;
    r.owner = "holder";
    r.lease = session_lease;
    r.record_version = std::move(version);
    r.fence = epoch;
    r.released = released;
    r.is_session = true;
    return r;
}

session_view view(std::optional<lock_record> s, clock::time_point since) {
    return session_view{std::move(s), since};
}

void expect_read_session(const acquire_action& a, clock::time_point sent, bool fresh = false,
                         int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, acquire_action::kind::read_session);
    EXPECT_EQ(a.write.key, session_key);
    EXPECT_EQ(a.fresh, fresh);
    EXPECT_EQ(ms(a.until), ms(sent + request_timeout));
}

// The write that ends the holder's session: a release of its item,
// conditioned on the version that stood still (never on an owner).
void expect_kill(const acquire_action& a, clock::time_point sent, const std::string& version,
                 int line = __builtin_LINE()) {
    const testing::ScopedTrace trace(__FILE__, line, "from here");
    EXPECT_EQ(a.type, acquire_action::kind::write);
    const lock_write& w = a.write;
    EXPECT_EQ(w.key, session_key);
    EXPECT_EQ(w.kind, write_kind::release);
    EXPECT_EQ(w.condition, write_condition::version);
    EXPECT_EQ(w.expected_version, version);
    EXPECT_FALSE(w.delete_item);
    EXPECT_EQ(ms(a.until), ms(sent + request_timeout));
}

TEST(AcquireMachineSessions, ALockOfALiveSessionIsWatchedThroughItsSessionThenTakenAfterAKill) {
    auto m = machine();
    m.start(at(0ms));
    // The grant fails: the lock is held under a session. Its own version
    // says nothing (it stands still while held): the session is read.
    expect_read_session(m.on_write(at(40ms), condition_failed, with_record(held_under_session())),
                        at(40ms));
    // Seen since 40 ms: polled until its lease has passed since then.
    expect_wait(m.on_session(at(60ms), ok, view(session_item("s1"), at(40ms))), at(360ms));
    expect_read_session(m.on_wake(at(360ms)), at(360ms));
    acquire_action a = m.on_session(at(380ms), ok, view(session_item("s1"), at(40ms)));
    while (a.type == acquire_action::kind::wait) {
        const auto woke = a.until;
        expect_read_session(m.on_wake(woke), woke);
        a = m.on_session(woke, ok, view(session_item("s1"), at(40ms)));
    }
    // The last wait ends exactly at since + lease; then one write ends the
    // session...
    expect_kill(a, at(3040ms), "s1");
    // ...and the lock is taken conditioned on its own version as read.
    expect_grant(m.on_write(at(3060ms), ok, with_record(session_item("s1", 4, true))), at(3060ms),
                 write_condition::version, "lv", "v2");
    lock_record taken = record_of(me, "v2", our_lease);
    expect_granted(m.on_write(at(3080ms), ok, with_record(taken)), taken, at(3060ms));
}

TEST(AcquireMachineSessions, AHeartbeatOfTheSessionRestartsTheWatch) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(40ms), condition_failed, with_record(held_under_session()));
    m.on_session(at(60ms), ok, view(session_item("s1"), at(40ms)));
    m.on_wake(at(340ms));
    // A new version: seen since 340 ms, so nothing before 3340 ms.
    expect_wait(m.on_session(at(360ms), ok, view(session_item("s2"), at(340ms))), at(660ms));
}

TEST(AcquireMachineSessions, AnOrphanedLockIsTakenAtOnce) {
    for (const auto& [what, seen] :
         {std::pair{"its session item is gone", view(std::nullopt, at(40ms))},
          std::pair{"its session was released", view(session_item("s1", 4, true), at(40ms))},
          std::pair{"its session is at another epoch", view(session_item("s9", 5), at(40ms))}}) {
        SCOPED_TRACE(what);
        auto m = machine();
        m.start(at(0ms));
        m.on_write(at(40ms), condition_failed, with_record(held_under_session()));
        expect_grant(m.on_session(at(60ms), ok, seen), at(60ms), write_condition::version, "lv",
                     "v2");
    }
}

TEST(AcquireMachineSessions, AHeartbeatRacingTheKillWinsAndTheWatchStartsAgain) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(40ms), condition_failed, with_record(held_under_session()));
    expect_kill(m.on_session(at(3100ms), ok, view(session_item("s1"), at(40ms))), at(3100ms), "s1");
    // The session heartbeated first: the kill's condition fails, showing s2.
    expect_wait(m.on_write(at(3120ms), condition_failed, with_record(session_item("s2"))),
                at(3420ms));
    expect_read_session(m.on_wake(at(3420ms)), at(3420ms));
    expect_wait(m.on_session(at(3440ms), ok, view(session_item("s2"), at(3120ms))), at(3740ms));
}

TEST(AcquireMachineSessions, ASessionEndedByAnotherContenderMeanwhileFreesTheLock) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(40ms), condition_failed, with_record(held_under_session()));
    m.on_session(at(3100ms), ok, view(session_item("s1"), at(40ms)));
    expect_grant(m.on_write(at(3120ms), condition_failed, with_record(session_item("s1", 4, true))),
                 at(3120ms), write_condition::version, "lv", "v2");
}

TEST(AcquireMachineSessions, AnAmbiguousKillIsSettledByAFreshReadOfTheSession) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(40ms), condition_failed, with_record(held_under_session()));
    m.on_session(at(3100ms), ok, view(session_item("s1"), at(40ms)));
    // No answer: did it apply? A fresh read (no view reused) tells.
    expect_read_session(m.on_write(at(5100ms), errc::timeout, no_record), at(5100ms), true);
    // It did not: the session still stands still, so it is ended again.
    expect_kill(m.on_session(at(5120ms), ok, view(session_item("s1"), at(40ms))), at(5120ms), "s1");
    expect_read_session(m.on_write(at(7120ms), errc::connection_lost, no_record), at(7120ms), true);
    // This time it did: the lock is free.
    expect_grant(m.on_session(at(7140ms), ok, view(session_item("s1", 4, true), at(7140ms))),
                 at(7140ms), write_condition::version, "lv", "v2");
}

TEST(AcquireMachineSessions, ATakeoverOfAnOrphanFailsWhenTheLockChangedMeanwhile) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(40ms), condition_failed, with_record(held_under_session()));
    m.on_session(at(60ms), ok, view(std::nullopt, at(60ms)));
    // The lock was released and taken by a plain holder in between.
    m.on_write(at(80ms), condition_failed, with_record(holder("h1")));
    expect_observed(m, "h1", at(80ms));
}

TEST(AcquireMachineSessions, TryOnALockOfALiveSessionIsNotGrantedWithoutWaiting) {
    acquire_params p = default_params();
    p.wait = false;
    auto m = machine(p);
    m.start(at(0ms));
    m.on_write(at(40ms), condition_failed, with_record(held_under_session()));
    expect_not_granted(m.on_session(at(60ms), ok, view(session_item("s1"), at(40ms))),
                       held_under_session());
}

TEST(AcquireMachineSessions, TryWithASessionKnownStillForItsLeaseEndsItAndTakesTheLock) {
    acquire_params p = default_params();
    p.wait = false;
    auto m = machine(p);
    m.start(at(10000ms));
    m.on_write(at(10040ms), condition_failed, with_record(held_under_session()));
    // The client's shared view has seen this version since 1 s.
    expect_kill(m.on_session(at(10060ms), ok, view(session_item("s1"), at(1000ms))), at(10060ms),
                "s1");
}

TEST(AcquireMachineSessions, ALiveSessionBoundsTheDefaultWaitByItsLease) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(40ms), condition_failed, with_record(held_under_session()));
    m.on_session(at(60ms), ok, view(session_item("s1"), at(40ms)));
    // The session heartbeats on every read: the default wait (its lease and
    // a poll from the first look) ends.
    auto t = 360ms;
    acquire_action a{};
    for (int n = 2;; ++n) {
        a = m.on_wake(at(t));
        if (a.type != acquire_action::kind::read_session) {
            break;
        }
        a = m.on_session(at(t + 20ms), ok,
                         view(session_item("s" + std::to_string(n)), at(t + 20ms)));
        t += 300ms;
    }
    expect_not_granted(a, held_under_session());
    EXPECT_GE(ms(at(t)), ms(at(60ms + session_lease + poll)));
}

TEST(AcquireMachineSessions, AMalformedSessionItemFailsNamingTheLockAndTheSession) {
    auto m = machine();
    m.start(at(0ms));
    m.on_write(at(40ms), condition_failed, with_record(held_under_session()));
    expect_failed(m.on_session(at(60ms), errc::malformed_item,
                               view(malformed(session_item("s1"), bad_data), at(60ms))),
                  errc::malformed_item, {"session", "abc", bad_data});
}

TEST(AcquireMachineSessions, AGrantUnderASessionNamesItAndItsEpoch) {
    acquire_params p = default_params();
    p.session = session_ref{session_key, 12};
    auto m = machine(p);
    const acquire_action a = m.start(at(0ms));
    expect_grant(a, at(0ms), write_condition::free, "", "v1", p);
    ASSERT_TRUE(a.write.session.has_value());
    EXPECT_EQ(*a.write.session, (session_ref{session_key, 12}));
    EXPECT_FALSE(a.write.session_item);
}
