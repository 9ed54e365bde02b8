// The lease lock end to end (docs/design.md), in real time, on each store:
// the memory store and dynamodb_store on dynalite and on moto. Every client of
// a test runs on one io_context, so their steady-clock times are comparable.
// Checks here are orderings and lower bounds, never upper time windows (a
// loaded machine only makes things later); the timing rules themselves are
// checked exactly on a manual clock in lock_client_scripted_test.cpp.

#include "lock/faulty_store.hpp"
#include "lock/store_fixture.hpp"

#include <dynalock/fencing.hpp>
#include <dynalock/lock_client.hpp>

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <system_error>

using namespace dynalock;
namespace asio = boost::asio;
namespace ddb = dynalock::dynamodb;
using std::chrono::milliseconds;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// Generous, so that a loaded machine delaying a heartbeat by a second loses
// no lease: the exact timing rules are checked on a manual clock in
// lock_client_scripted_test.cpp.
constexpr milliseconds lease_length{3000};
constexpr milliseconds heartbeat{500};
constexpr milliseconds margin{200};

using test::ms_between;

class lock_client_test : public test::store_fixture {
protected:
    /// Small listing pages, so that async_list has to page.
    lock_client_test() : store_fixture(2) {}

    /// A lock client and the decorator it reaches the store through.
    struct party {
        std::unique_ptr<test::faulty_store> store;
        std::unique_ptr<lock_client> client;
    };

    void TearDown() override {
        close_all();
        store_fixture::TearDown();
    }

    /// Moto answers ~150 requests a second: poll it less often.
    milliseconds poll() const {
        return GetParam().name == "moto" ? milliseconds(100) : milliseconds(50);
    }

    lock_client_options fast(std::string owner) const {
        return {.owner = std::move(owner),
                .lease = lease_length,
                .heartbeat_period = heartbeat,
                .safety_margin = margin,
                .poll_period = poll()};
    }

    party& join(lock_client_options o) {
        auto p = std::make_unique<party>();
        p->store = std::make_unique<test::faulty_store>(*store_);
        p->client = std::make_unique<lock_client>(*p->store, std::move(o));
        parties_.push_back(std::move(p));
        return *parties_.back();
    }

    party& join(std::string owner) { return join(fast(std::move(owner))); }

    /// Forgets a client without closing or destroying it (nor its store).
    void abandon(party& p) {
        auto it = std::find_if(parties_.begin(), parties_.end(),
                               [&](const auto& q) { return q.get() == &p; });
        ASSERT_NE(it, parties_.end());
        static_cast<void>(p.client.release());
        static_cast<void>(p.store.release());
        parties_.erase(it);
    }

    /// Closes every client (releasing what it holds) before the store goes.
    void close_all() {
        std::size_t open = 0;
        for (auto& p : parties_) {
            ++open;
            p->client->async_close([&open](error_code) { --open; });
        }
        io_.restart();
        const auto until = clock_type::now() + std::chrono::seconds(5);
        while (open != 0 && io_.run_one_until(until) != 0) {
        }
        EXPECT_EQ(open, 0u) << "async_close did not complete";
        parties_.clear();
    }

    std::tuple<error_code, lease> acquire(lock_client& c, const lock_key& key,
                                          acquire_options o = {}) {
        return wait<lease>([&](auto h) { c.async_acquire(key, std::move(o), std::move(h)); });
    }

    std::tuple<error_code, lease> try_acquire(lock_client& c, const lock_key& key,
                                              acquire_options o = {}) {
        return wait<lease>([&](auto h) { c.async_try_acquire(key, std::move(o), std::move(h)); });
    }

    /// An acquire that must succeed.
    lease granted(lock_client& c, const lock_key& key, acquire_options o = {}) {
        auto [ec, l] = acquire(c, key, std::move(o));
        EXPECT_FALSE(ec) << ec.message();
        EXPECT_TRUE(l.held());
        return l;
    }

    error_code release(lock_client& c, lease l) {
        return wait<>([&](auto h) { c.async_release(std::move(l), std::nullopt, std::move(h)); });
    }

    std::optional<lock_record> get(lock_client& c, const lock_key& key) {
        auto [ec, r] =
            wait<std::optional<lock_record>>([&](auto h) { c.async_get(key, std::move(h)); });
        EXPECT_FALSE(ec) << ec.message();
        return r;
    }

    /// Runs coroutines side by side until all have finished.
    void run_all(std::vector<asio::awaitable<void>> tasks) {
        std::size_t running = tasks.size();
        std::exception_ptr failure;
        for (auto& t : tasks) {
            asio::co_spawn(io_, std::move(t), [&](std::exception_ptr e) {
                --running;
                if (e && !failure) {
                    failure = e;
                }
            });
        }
        io_.restart();
        const auto until = clock_type::now() + std::chrono::seconds(60);
        while (running != 0 && io_.run_one_until(until) != 0) {
        }
        ASSERT_EQ(running, 0u) << "the tasks did not finish";
        if (failure) {
            std::rethrow_exception(failure);
        }
    }

    /// The grant write `p` sent to take `observed_version` over, if any.
    static const test::faulty_store::event* takeover_of(const party& p,
                                                        const std::string& observed_version) {
        for (const auto& e : p.store->events()) {
            if (e.type == test::faulty_store::event::kind::write &&
                e.write.kind == write_kind::grant &&
                e.write.condition == write_condition::version &&
                e.write.expected_version == observed_version) {
                return &e;
            }
        }
        return nullptr;
    }

    /// Checks that `p` took over `holder_version` (a lease of `stored_lease`)
    /// only after it had seen that version for longer than the lease.
    static void expect_waited_out(const party& p, const std::string& holder_version,
                                  milliseconds stored_lease) {
        const auto seen = p.store->first_seen(holder_version);
        ASSERT_TRUE(seen.has_value()) << "the contender never saw the holder's version";
        const auto* takeover = takeover_of(p, holder_version);
        ASSERT_NE(takeover, nullptr) << "no takeover write conditioned on the holder's version";
        EXPECT_GE(takeover->started - *seen, stored_lease)
            << "takeover sent " << ms_between(*seen, takeover->started)
            << " ms after the first observation, the stored lease is " << stored_lease.count()
            << " ms";
    }

    /// The write that minted `record_version`, as its sender saw it (times
    /// in ms from `t0`), for failure messages.
    std::string describe_write(const std::string& record_version, clock_type::time_point t0) const {
        static constexpr const char* conditions[] = {"free", "version", "version_and_owner"};
        for (const auto& p : parties_) {
            for (const auto& e : p->store->events()) {
                if (e.type != test::faulty_store::event::kind::write ||
                    e.write.new_version != record_version) {
                    continue;
                }
                std::string out =
                    "  " + p->client->options().owner + ": condition " +
                    conditions[static_cast<int>(e.write.condition)] +
                    (e.write.expected_version.empty() ? std::string()
                                                      : " on " + e.write.expected_version) +
                    ", sent at " + std::to_string(ms_between(t0, e.started)) + " ms";
                if (e.completed) {
                    out += ", answered at " + std::to_string(ms_between(t0, *e.completed)) +
                           " ms: " + (e.ec ? e.ec.message() : std::string("ok"));
                }
                if (e.record) {
                    out += ", item fence " + std::to_string(e.record->fence.value_or(0)) +
                           " version " + e.record->record_version;
                }
                return out + "\n";
            }
        }
        return "  no write minted " + record_version + "\n";
    }

    std::vector<std::unique_ptr<party>> parties_;
};

/// The lock-client behaviours that need raw access to a DynamoDB table.
class server_lock_test : public lock_client_test {};

/// Safety under concurrent contenders, on stores whose conditional writes are
/// atomic. Not moto: moto_server 5.2.1 evaluates an UpdateItem's condition and
/// then applies the update without a lock across its request threads, so two
/// concurrent grants conditioned on "free or released" can both succeed (seen
/// here as two holders with fences n and n+1, and reproduced with boto3 alone:
/// four racing conditional UpdateItems, more than one succeeded). On moto this
/// test would check moto, not the lock.
class contention_test : public lock_client_test {};

// --- 1. contention ------------------------------------------------------------

struct holding {
    std::string owner;
    std::uint64_t fence = 0;
    std::string record_version;     ///< of the grant
    clock_type::time_point from{};  ///< the acquire completed
    clock_type::time_point to{};    ///< the release was asked for
    bool held_throughout = false;
};

struct contention_log {
    std::vector<holding> holdings;
    std::size_t not_granted = 0;
    std::vector<std::string> errors;
};

constexpr std::size_t min_grants = 10;

asio::awaitable<void> contend(lock_client& c, lock_key key, clock_type::time_point end,
                              unsigned seed, contention_log& log) {
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> hold_ms(10, 50);
    // A pause between release and the next acquire gives the others a chance
    // at the free lock (else the releaser, first to know, takes it again).
    std::uniform_int_distribution<int> think_ms(5, 25);
    asio::steady_timer timer(c.get_executor());
    // Past `end` until the contenders have ten grants between them: a loaded
    // machine slows the store, and too few grants would say nothing. The
    // hard stop keeps a store that grants nothing from hanging the test.
    const auto hard_stop = end + std::chrono::seconds(30);
    while (clock_type::now() < end ||
           (log.holdings.size() < min_grants && clock_type::now() < hard_stop)) {
        acquire_options o;
        auto [ec, l] = co_await c.async_acquire(key, std::move(o), use_tuple);
        if (ec == errc::lock_not_granted) {
            ++log.not_granted;
            continue;
        }
        if (ec) {
            log.errors.push_back(c.options().owner + " acquire: " + ec.message());
            co_return;
        }
        holding h{.owner = l.owner(),
                  .fence = l.fence(),
                  .record_version = l.record_version(),
                  .from = clock_type::now(),
                  .held_throughout = l.held()};
        timer.expires_after(milliseconds(hold_ms(rng)));
        co_await timer.async_wait(use_tuple);
        h.held_throughout = h.held_throughout && l.held();
        h.to = clock_type::now();
        log.holdings.push_back(h);
        auto [rec] = co_await c.async_release(l, std::nullopt, use_tuple);
        if (rec) {
            log.errors.push_back(c.options().owner + " release: " + rec.message());
            co_return;
        }
        timer.expires_after(milliseconds(think_ms(rng)));
        co_await timer.async_wait(use_tuple);
    }
}

TEST_P(contention_test, contending_clients_never_overlap_and_fences_count_every_grant) {
    open();
    const lock_key key{"contended"};
    contention_log log;
    std::vector<asio::awaitable<void>> tasks;
    const auto start = clock_type::now();
    const auto end = start + std::chrono::seconds(3);
    for (unsigned i = 0; i < 4; ++i) {
        party& p = join("contender-" + std::to_string(i));
        tasks.push_back(contend(*p.client, key, end, 1000 + i, log));
    }
    run_all(std::move(tasks));
    EXPECT_TRUE(log.errors.empty()) << log.errors.front();

    auto& hs = log.holdings;
    ASSERT_GE(hs.size(), min_grants) << "too few grants in 33 s to say anything";
    std::sort(hs.begin(), hs.end(), [](const auto& a, const auto& b) { return a.from < b.from; });
    std::set<std::string> owners;
    for (std::size_t i = 0; i < hs.size(); ++i) {
        owners.insert(hs[i].owner);
        EXPECT_TRUE(hs[i].held_throughout) << "grant " << i << " (" << hs[i].owner << ")";
        if (i == 0) {
            continue;
        }
        EXPECT_LE(hs[i - 1].to, hs[i].from)
            << hs[i - 1].owner << " (fence " << hs[i - 1].fence << ") still held the lock "
            << ms_between(hs[i].from, hs[i - 1].to) << " ms after " << hs[i].owner << " (fence "
            << hs[i].fence << ") got it.\nThe two grants:\n"
            << describe_write(hs[i - 1].record_version, start)
            << describe_write(hs[i].record_version, start);
        EXPECT_LT(hs[i - 1].fence, hs[i].fence) << "grant " << i;
    }
    EXPECT_GE(owners.size(), 2u) << "one contender held the lock every time";
    // Strictly increasing fences ending at the number of grants: 1, 2, ... N.
    const auto item = get(*parties_.front()->client, key);
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(item->fence, std::optional<std::uint64_t>(hs.size()));
    EXPECT_TRUE(item->released);
}

// --- 2. expiry needs the lease to pass; a live holder keeps its lock -----------

// Also what the two clients' events say of it (lock_client_options::on_event).
TEST_P(lock_client_test, a_silent_holder_is_taken_over_only_after_its_lease) {
    open();
    const lock_key key{"silent"};
    std::vector<lock_event> holder_events;
    std::vector<lock_event> contender_events;
    lock_client_options silent = fast("silent-holder");
    silent.automatic_heartbeats = false;
    silent.on_event = [&](const lock_event& e) { holder_events.push_back(e); };
    lock_client_options contender = fast("contender");
    contender.on_event = [&](const lock_event& e) { contender_events.push_back(e); };
    party& a = join(silent);
    party& b = join(contender);

    const auto before_a = clock_type::now();
    const lease held = granted(*a.client, key);
    const auto after_a = clock_type::now();
    ASSERT_FALSE(held.empty());
    const std::string held_version = held.record_version();
    // The holder's local deadline counts from before its write was sent.
    const auto deadline = clock_type::now() + held.remaining();
    ASSERT_EQ(a.store->operations(), 1u);
    const auto grant_sent = a.store->events().front().started;
    EXPECT_LE(deadline, grant_sent + lease_length - margin)
        << ms_between(grant_sent + lease_length - margin, deadline) << " ms late";
    EXPECT_GE(deadline, before_a + lease_length - margin);

    const lease taken = granted(*b.client, key);
    ASSERT_FALSE(taken.empty());
    expect_waited_out(b, held_version, lease_length);
    EXPECT_EQ(taken.fence(), held.fence() + 1);
    EXPECT_EQ(taken.owner(), "contender");
    EXPECT_TRUE(held.expired()) << "the silent holder still believes it holds the lock";
    EXPECT_FALSE(held.held());
    EXPECT_EQ(held.reason(), loss_reason::expired) << to_string(held.reason());

    ASSERT_FALSE(release(*b.client, taken));
    // Events come from the executor's queue after what raised them.
    io_.restart();
    const auto until = clock_type::now() + std::chrono::seconds(5);
    while ((holder_events.size() < 2 || contender_events.size() < 2) &&
           io_.run_one_until(until) != 0) {
    }
    ASSERT_EQ(holder_events.size(), 2u);
    EXPECT_EQ(holder_events[0].kind, lock_event_kind::acquired);
    EXPECT_EQ(holder_events[0].key, key);
    EXPECT_EQ(holder_events[0].fence, held.fence());
    EXPECT_EQ(holder_events[1].kind, lock_event_kind::lost);
    EXPECT_EQ(holder_events[1].key, key);
    EXPECT_EQ(holder_events[1].fence, held.fence());
    EXPECT_EQ(holder_events[1].reason, loss_reason::expired);
    // Renewed only by its grant, which the acquire saw at most its own
    // duration after the deadline started counting: lost at least a lease
    // (minus the margin) minus that later (each count of ms truncated).
    EXPECT_GE(holder_events[1].since_renewal + milliseconds(ms_between(before_a, after_a) + 2),
              lease_length - margin);
    ASSERT_EQ(contender_events.size(), 2u);
    EXPECT_EQ(contender_events[0].kind, lock_event_kind::acquired);
    EXPECT_EQ(contender_events[0].fence, held.fence() + 1);
    EXPECT_EQ(contender_events[1].kind, lock_event_kind::released);
    EXPECT_EQ(contender_events[1].fence, held.fence() + 1);
    EXPECT_EQ(contender_events[1].reason, loss_reason::released);
}

// --- 3. release hands over at once --------------------------------------------

// --- 4. an ambiguous heartbeat that applied ------------------------------------

TEST_P(lock_client_test, a_grant_and_a_release_whose_responses_were_lost_are_resolved) {
    open();
    const lock_key key{"lost-grant"};
    party& a = join("holder");
    party& b = join("next");
    a.store->lose_response_of(write_kind::grant, 1);
    const lease l = granted(*a.client, key);
    ASSERT_FALSE(l.empty());
    EXPECT_EQ(l.fence(), 1u);
    auto item = get(*a.client, key);
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(item->record_version, l.record_version());

    a.store->lose_response_of(write_kind::release, 1);
    const error_code ec = release(*a.client, l);
    EXPECT_FALSE(ec) << ec.message();
    EXPECT_EQ(l.reason(), loss_reason::released) << to_string(l.reason());
    item = get(*a.client, key);
    ASSERT_TRUE(item.has_value());
    EXPECT_TRUE(item->released);
    const lease next = granted(*b.client, key);
    EXPECT_EQ(b.store->operations(), 1u) << "the released lock was not free at once";
    EXPECT_EQ(next.fence(), 2u);
}

// --- 5. stolen under the holder --------------------------------------------------

// --- 7. cancelling a waiting acquire ----------------------------------------------

TEST_P(lock_client_test, a_cancellation_crossing_a_request_completes_with_operation_aborted) {
    open();
    const lock_key key{"crossed"};
    party& a = join("holder");
    party& b = join("waiter");
    const lease held = granted(*a.client, key);

    // Cancel just as the waiter's first poll goes out: the read is not
    // interrupted (or its answer is already in), and the acquire must still
    // end with operation_aborted and leave the client able to close.
    asio::cancellation_signal cancel;
    b.store->on_start = [&](const test::faulty_store::event& e) {
        if (e.type == test::faulty_store::event::kind::read) {
            cancel.emit(asio::cancellation_type::terminal);
        }
    };
    auto [ec, l] = wait<lease>([&](auto h) {
        b.client->async_acquire(key, {}, asio::bind_cancellation_slot(cancel.slot(), std::move(h)));
    });
    b.store->on_start = nullptr;
    EXPECT_TRUE(l.empty());
    if (ec != asio::error::operation_aborted) {
        // Closing or destroying this client could touch state the failed
        // acquire left behind (it once did: a freed timer still registered
        // for close to cancel, SIGSEGV) and would take the
        // rest of the suite down with it: abandon it, leaked on purpose.
        abandon(b);
        FAIL() << "the cancelled acquire completed with " << ec << " (" << ec.message()
               << "), not operation_aborted";
    }

    std::optional<error_code> closed;
    b.client->async_close([&](error_code cec) { closed = cec; });
    io_.restart();
    const auto until = clock_type::now() + std::chrono::seconds(2);
    while (!closed && io_.run_one_until(until) != 0) {
    }
    EXPECT_TRUE(closed.has_value()) << "async_close never completed after the cancelled acquire";
    EXPECT_TRUE(held.held());
}

// --- 8. bad input ---------------------------------------------------------------

TEST_P(lock_client_test, bad_input_is_refused_before_anything_is_sent) {
    open("sub");
    party& a = join("checker");
    struct bad_case {
        std::string what;
        lock_key key;
        attribute_map extra{};
    };
    const std::vector<bad_case> cases{
        {"empty key", lock_key{"", "s"}},
        {"partition key of 2049 bytes", lock_key{std::string(2049, 'p'), "s"}},
        {"sort key of 1025 bytes", lock_key{"p", std::string(1025, 's')}},
        {"extra ownerName", lock_key{"p", "s"}, {{"ownerName", attribute_value{"me"}}}},
        {"extra fence", lock_key{"p", "s"}, {{"fence", attribute_value{number{"7"}}}}},
    };
    for (const auto& c : cases) {
        diagnostics d;
        auto [ec, l] = acquire(*a.client, c.key, {.extra = c.extra, .diagnostics = &d});
        EXPECT_EQ(ec, errc::invalid_argument) << c.what << ": " << ec.message();
        EXPECT_FALSE(d.message.empty()) << c.what << ": no explanation";
        auto [tec, tl] = try_acquire(*a.client, c.key, {.extra = c.extra, .diagnostics = &d});
        EXPECT_EQ(tec, errc::invalid_argument) << c.what << ": " << tec.message();
    }
    EXPECT_EQ(a.store->operations(), 0u) << "a request was sent for bad input";

    const auto base = fast("o");
    struct bad_options {
        std::string option;
        lock_client_options o;
    };
    std::vector<bad_options> bad(10, {"", base});
    bad[0] = {"lease", base};
    bad[0].o.lease = milliseconds(0);
    bad[1] = {"lease", base};
    bad[1].o.lease = milliseconds(-1000);
    bad[2] = {"heartbeat_period", base};
    bad[2].o.heartbeat_period = lease_length / 2 + milliseconds(1);
    bad[3] = {"safety_margin", base};
    bad[3].o.safety_margin = milliseconds(-1);
    bad[4] = {"max_in_flight", base};
    bad[4].o.max_in_flight = 0;
    // Beyond the limits, where a deadline would overflow the steady clock:
    // each names its limit.
    bad[5] = {"at most 604800000 ms", base};
    bad[5].o.lease = std::chrono::hours(99999999999);
    bad[5].o.heartbeat_period = std::chrono::hours(1);
    bad[6] = {"poll_period (691200000 ms) must be positive and at most 604800000 ms", base};
    bad[6].o.poll_period = std::chrono::hours(24 * 8);
    bad[7] = {"request_timeout (7200000 ms) must be positive and at most 3600000 ms", base};
    bad[7].o.request_timeout = std::chrono::hours(2);
    bad[8] = {"max_in_flight (65537) must be from 1 to 65536", base};
    bad[8].o.max_in_flight = 65537;
    bad[9] = {"observation_cache_size", base};
    bad[9].o.observation_cache_size = std::size_t{1} << 40;
    for (const auto& b : bad) {
        try {
            lock_client c(*store_, b.o);
            ADD_FAILURE() << "accepted a bad " << b.option;
        } catch (const std::system_error& e) {
            EXPECT_EQ(e.code(), std::error_code(make_error_code(errc::invalid_argument)));
            EXPECT_NE(std::string(e.what()).find(b.option), std::string::npos) << e.what();
        }
    }
    // The longest lease is accepted.
    lock_client_options longest = base;
    longest.lease = max_lease;
    EXPECT_FALSE(longest.validate()) << *longest.validate();

    diagnostics d;
    auto [ec, l] = acquire(*a.client, lock_key{"p", "s"},
                           {.wait = max_lease + milliseconds(1), .diagnostics = &d});
    EXPECT_EQ(ec, errc::invalid_argument) << ec.message();
    EXPECT_NE(d.message.find("acquire_options::wait must be from 0 to 7 days"), std::string::npos)
        << d.message;
    EXPECT_EQ(a.store->operations(), 0u) << "a request was sent for bad input";
}

// --- 9. try_acquire ---------------------------------------------------------------

// --- 10. the rest of the client's surface ---------------------------------------

TEST_P(lock_client_test, reentrant_acquire_returns_the_same_lease_and_data_is_stored) {
    open();
    const lock_key key{"reentrant"};
    party& a = join("holder");
    const bytes payload = test::to_bytes(std::string("pay\0load", 8));
    const lease l = granted(*a.client, key, {.data = payload});
    EXPECT_EQ(l.data(), std::optional(payload));

    const lease again = granted(*a.client, key, {.reentrant = true});
    EXPECT_EQ(again.record_version(), l.record_version());
    EXPECT_EQ(again.fence(), l.fence());
    auto [ec, other] = try_acquire(*a.client, key);
    EXPECT_EQ(ec, errc::lock_not_granted)
        << "a non-reentrant acquire of a held lock: " << ec.message();

    const auto item = get(*a.client, key);
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(item->data, std::optional(payload));
    EXPECT_EQ(item->owner, "holder");
    EXPECT_FALSE(release(*a.client, again));
    EXPECT_EQ(l.reason(), loss_reason::released) << "the two leases are not one";
}

TEST_P(lock_client_test, release_keeps_the_row_and_fence_or_deletes_it) {
    open();
    const lock_key key{"release-modes"};
    party& a = join("keeper");
    lock_client_options deleting = fast("deleter");
    deleting.delete_on_release = true;
    party& b = join(deleting);

    const lease first = granted(*a.client, key);
    ASSERT_FALSE(release(*a.client, first));
    EXPECT_EQ(first.reason(), loss_reason::released);
    EXPECT_FALSE(first.held());
    auto item = get(*a.client, key);
    ASSERT_TRUE(item.has_value());
    EXPECT_TRUE(item->released);
    EXPECT_EQ(item->fence, std::optional<std::uint64_t>(first.fence()));

    const lease second = granted(*b.client, key);
    EXPECT_EQ(second.fence(), first.fence() + 1);
    ASSERT_FALSE(release(*b.client, second));
    EXPECT_FALSE(get(*a.client, key).has_value()) << "delete_on_release kept the row";
    EXPECT_EQ(release(*b.client, second), error_code{}) << "releasing twice";
}

TEST_P(lock_client_test, list_sees_the_locks) {
    open();
    // No heartbeats: one landing between the list and the comparison below
    // would change the version (heartbeats come every 500 ms here).
    auto o = fast("lister");
    o.automatic_heartbeats = false;
    party& a = join(std::move(o));
    std::vector<lease> leases;
    for (const char* name : {"list-a", "list-b", "list-c"}) {
        leases.push_back(granted(*a.client, lock_key{name}));
    }
    auto [ec, records] =
        wait<std::vector<lock_record>>([&](auto h) { a.client->async_list({}, std::move(h)); });
    ASSERT_FALSE(ec) << ec.message();
    std::set<std::string> names;
    for (const auto& r : records) {
        names.insert(r.key.partition);
        EXPECT_EQ(r.owner, "lister");
    }
    EXPECT_EQ(names, (std::set<std::string>{"list-a", "list-b", "list-c"}));
    auto [ec2, one] = wait<std::vector<lock_record>>(
        [&](auto h) { a.client->async_list(std::string("list-b"), std::move(h)); });
    ASSERT_FALSE(ec2) << ec2.message();
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].record_version, leases[1].record_version());
}

TEST_P(lock_client_test, a_cancellation_crossing_a_list_page_completes_with_operation_aborted) {
    open();
    party& a = join("lister");
    std::vector<lease> leases;
    for (const char* name : {"page-a", "page-b", "page-c"}) {
        leases.push_back(granted(*a.client, lock_key{name}));
    }
    asio::cancellation_signal cancel;
    a.store->on_start = [&](const test::faulty_store::event& e) {
        if (e.type == test::faulty_store::event::kind::list) {
            cancel.emit(asio::cancellation_type::terminal);
        }
    };
    auto [ec, records] = wait<std::vector<lock_record>>([&](auto h) {
        a.client->async_list({}, asio::bind_cancellation_slot(cancel.slot(), std::move(h)));
    });
    a.store->on_start = nullptr;
    EXPECT_EQ(ec, asio::error::operation_aborted) << ec.message();
}

TEST_P(lock_client_test, acquire_many_takes_what_is_free_and_says_why_not_the_rest) {
    open();
    party& a = join("many");
    party& b = join("other");
    const lease theirs = granted(*b.client, lock_key{"many-3"});
    std::vector<lock_key> keys;
    for (int i = 0; i < 7; ++i) {
        keys.push_back(lock_key{"many-" + std::to_string(i)});
    }
    auto [ec, result] = wait<acquire_many_result>(
        [&](auto h) { a.client->async_acquire_many(keys, {.concurrency = 3}, std::move(h)); });
    ASSERT_FALSE(ec) << ec.message();
    ASSERT_EQ(result.granted.size(), 6u);
    ASSERT_EQ(result.refused.size(), 1u);
    EXPECT_EQ(result.refused[0].key, lock_key{"many-3"});
    EXPECT_EQ(result.refused[0].error, errc::lock_not_granted) << result.refused[0].error.message();
    EXPECT_EQ(result.refused[0].message, "held by other");
    for (const auto& l : result.granted) {
        EXPECT_TRUE(l.held());
        EXPECT_NE(l.key(), lock_key{"many-3"});
    }
    const auto stats = a.client->stats();
    EXPECT_EQ(stats.acquired, 6u);
    EXPECT_EQ(stats.held, 6u);
    // What is not tried is refused before anything is sent.
    const std::size_t sent = a.store->operations();
    auto [dup, none] = wait<acquire_many_result>([&](auto h) {
        a.client->async_acquire_many({lock_key{"x"}, lock_key{"x"}}, {}, std::move(h));
    });
    EXPECT_EQ(dup, errc::invalid_argument);
    auto [zero, none2] = wait<acquire_many_result>([&](auto h) {
        a.client->async_acquire_many({lock_key{"y"}}, {.concurrency = 0}, std::move(h));
    });
    EXPECT_EQ(zero, errc::invalid_argument);
    EXPECT_EQ(a.store->operations(), sent);
    EXPECT_TRUE(none.granted.empty() && none2.granted.empty());
}

// --- 6, 8, 11: raw rows, table checks and fencing (dynalite and moto) -------------

TEST_P(server_lock_test, a_java_client_row_is_respected_for_its_lease_then_taken_with_fence_1) {
    open();
    const std::string java_lease = "1500";
    put_raw(item{{"key", attribute_value{"java-lock"}},
                 {"ownerName", attribute_value{"java-host"}},
                 {"leaseDuration", attribute_value{java_lease}},
                 {"recordVersionNumber", attribute_value{"java-rvn-1"}}});
    party& b = join("contender");
    const lease l = granted(*b.client, lock_key{"java-lock"});
    ASSERT_FALSE(l.empty());
    expect_waited_out(b, "java-rvn-1", milliseconds(1500));
    EXPECT_EQ(l.fence(), 1u);
    EXPECT_EQ(l.owner(), "contender");
}

TEST_P(server_lock_test, check_table_refuses_another_key_schema) {
    open();
    const std::string table = dstore_->options().table_name;
    for (auto o : {dynamodb_store_options{.table_name = table, .sort_key_name = "sub"},
                   dynamodb_store_options{.table_name = table, .partition_key_name = "name"}}) {
        dynamodb_store other(*client_, o);
        diagnostics d;
        const error_code ec = wait<>([&](auto h) { other.async_check_table(&d, std::move(h)); });
        EXPECT_EQ(ec, errc::invalid_argument) << ec.message();
        EXPECT_FALSE(d.message.empty());
    }
    diagnostics d;
    EXPECT_FALSE(wait<>([&](auto h) { dstore_->async_check_table(&d, std::move(h)); }))
        << d.message;
}

// Moto runs transactions; dynalite has no TransactWriteItems, so there the
// fenced write must fail (never silently pass unfenced).
TEST_P(server_lock_test, a_fenced_write_of_a_taken_over_holder_is_refused) {
    open();
    const lock_key key{"fenced"};
    lock_client_options silent = fast("stale-holder");
    silent.automatic_heartbeats = false;
    party& a = join(silent);
    party& b = join("new-holder");
    const lease stale = granted(*a.client, key);
    const std::string table = dstore_->options().table_name;
    const auto put_data = [&](const std::string& by) {
        return ddb::transact_put{.table_name = table,
                                 .item = {{"key", attribute_value{"data-of-" + key.partition}},
                                          {"writer", attribute_value{by}}}};
    };

    if (!GetParam().server->has_transactions) {
        diagnostics d;
        auto [ec, r] = test::execute(io_, *client_, fenced_write(*dstore_, stale, put_data("a")),
                                     {.diagnostics = &d});
        EXPECT_TRUE(ec) << GetParam().name << " accepted TransactWriteItems";
        return;
    }

    const lease fresh = granted(*b.client, key);
    EXPECT_EQ(fresh.fence(), stale.fence() + 1);
    auto [ec, r] = test::execute(io_, *client_, fenced_write(*dstore_, stale, put_data("a")));
    EXPECT_EQ(ec, errc::transaction_canceled) << ec.message();
    ASSERT_FALSE(r.cancellation_reasons.empty());
    EXPECT_EQ(r.cancellation_reasons[0].code, "ConditionalCheckFailed");

    auto [ec2, r2] = test::execute(io_, *client_, fenced_write(*dstore_, fresh, put_data("b")));
    EXPECT_FALSE(ec2) << ec2.message();
    auto [gec, got] = test::execute(
        io_, *client_,
        ddb::get_item_request{.table_name = table,
                              .key = {{"key", attribute_value{"data-of-" + key.partition}}},
                              .consistent_read = true});
    ASSERT_FALSE(gec) << gec.message();
    ASSERT_TRUE(got.item.has_value());
    EXPECT_EQ(got.item->at("writer"), attribute_value{"b"});
}

// --- rows another tool wrote badly -------------------------------------------------

TEST_P(server_lock_test, an_acquire_on_a_malformed_row_fails_at_once_naming_what_is_wrong) {
    open();
    struct bad_row {
        std::string key;
        item changes;
        std::vector<std::string> said;
    };
    const std::vector<bad_row> rows{
        {"lease-abc",
         {{"leaseDuration", attribute_value{"abc"}}},
         {"lock \"lease-abc\"", "leaseDuration is the string \"abc\"",
          "expected a whole number of milliseconds from 0 to 604800000"}},
        {"lease-huge",
         {{"leaseDuration", attribute_value{"99999999999999999999999"}}},
         {"lock \"lease-huge\"", "leaseDuration is the string \"99999999999999999999999\""}},
        {"no-owner",
         {{"ownerName", attribute_value{null_value{}}}},
         {"lock \"no-owner\"", "ownerName is missing, expected a string"}},
        // Released: the grant's condition would hold, and the server would
        // refuse `fence + 1` without naming the attribute.
        {"fence-string",
         {{"fence", attribute_value{"12"}}, {"isReleased", attribute_value{"1"}}},
         {"lock \"fence-string\"", "fence is the string \"12\"",
          "expected a number from 0 to 18446744073709551615"}},
    };
    party& a = join("contender");
    for (const auto& r : rows) {
        SCOPED_TRACE(r.key);
        put_raw(test::foreign_row(r.key, r.changes));
        const std::size_t before = a.store->operations();
        diagnostics d;
        auto [ec, l] = acquire(*a.client, lock_key{r.key},
                               {.wait = std::chrono::seconds(30), .diagnostics = &d});
        EXPECT_EQ(ec, errc::malformed_item) << ec.message();
        EXPECT_TRUE(l.empty());
        for (const auto& part : r.said) {
            EXPECT_NE(d.message.find(part), std::string::npos) << d.message << "\nlacks " << part;
        }
        // At once: one refused grant, whose failure shows the item (on
        // dynalite through the store's own read), and no waiting on the row.
        EXPECT_LE(a.store->operations() - before, 1u);
        // Nothing written.
        EXPECT_EQ(get_raw(r.key), std::optional(test::foreign_row(r.key, r.changes)));
    }
}

TEST_P(server_lock_test, a_fence_at_its_largest_is_never_pushed_past_it) {
    open();
    const item top =
        test::foreign_row("fence-top", {{"fence", attribute_value{number{"18446744073709551615"}}},
                                        {"isReleased", attribute_value{"1"}}});
    put_raw(top);
    party& a = join("contender");
    diagnostics d;
    auto [ec, l] = acquire(*a.client, lock_key{"fence-top"}, {.diagnostics = &d});
    EXPECT_EQ(ec, errc::fence_exhausted) << ec.message();
    EXPECT_NE(d.message.find("lock \"fence-top\": its fence is 18446744073709551615"),
              std::string::npos)
        << d.message;
    EXPECT_EQ(get_raw("fence-top"), std::optional(top)) << "the row was written";
}

TEST_P(server_lock_test, a_grant_that_applied_on_a_malformed_row_is_released_again) {
    open();
    // Released, so the grant applies; but `data`, which the grant keeps, is a
    // string: the item it leaves cannot be read as a lock.
    put_raw(test::foreign_row("bad-data", {{"data", attribute_value{"text"}},
                                           {"isReleased", attribute_value{"1"}},
                                           {"fence", attribute_value{number{"4"}}}}));
    party& a = join("contender");
    diagnostics d;
    auto [ec, l] = acquire(*a.client, lock_key{"bad-data"}, {.diagnostics = &d});
    EXPECT_EQ(ec, errc::malformed_item) << ec.message();
    EXPECT_TRUE(l.empty());
    for (const std::string part : {"lock \"bad-data\"", "data is the string \"text\"",
                                   "the grant had applied", "released again"}) {
        EXPECT_NE(d.message.find(part), std::string::npos) << d.message << "\nlacks " << part;
    }
    // Held by nobody: released, by the version the grant wrote.
    const std::optional<item> got = get_raw("bad-data");
    ASSERT_TRUE(got);
    EXPECT_EQ(got->at("isReleased"), attribute_value{"1"});
    EXPECT_EQ(got->at("ownerName"), attribute_value{"contender"});
    EXPECT_EQ(got->at("fence"), attribute_value{number{"5"}});
    EXPECT_EQ(got->at("data"), attribute_value{"text"});
    EXPECT_EQ(a.client->stats().held, 0u);
}

TEST_P(server_lock_test, list_and_get_show_a_malformed_row_among_the_others) {
    open();
    party& a = join("lister");
    const lease held = granted(*a.client, lock_key{"good-1"});
    put_raw(test::foreign_row("bad", {{"leaseDuration", attribute_value{"abc"}}}));
    put_raw(test::foreign_row("good-2"));
    auto [ec, rows] =
        wait<std::vector<lock_record>>([&](auto h) { a.client->async_list({}, std::move(h)); });
    ASSERT_FALSE(ec) << ec.message();
    std::map<std::string, const lock_record*> by_key;
    for (const auto& r : rows) {
        by_key[r.key.partition] = &r;
    }
    ASSERT_EQ(by_key.size(), 3u);
    EXPECT_FALSE(by_key["good-1"]->malformed);
    EXPECT_EQ(by_key["good-1"]->owner, "lister");
    EXPECT_FALSE(by_key["good-2"]->malformed);
    ASSERT_TRUE(by_key["bad"]->malformed);
    EXPECT_EQ(by_key["bad"]->malformed->find("leaseDuration is the string \"abc\""), 0u);

    auto [gec, got] = wait<std::optional<lock_record>>(
        [&](auto h) { a.client->async_get({"bad"}, std::move(h)); });
    EXPECT_EQ(gec, errc::malformed_item) << gec.message();
    ASSERT_TRUE(got && got->malformed);
    EXPECT_EQ(*got->malformed, *by_key["bad"]->malformed);
    EXPECT_TRUE(held.held());
}

INSTANTIATE_TEST_SUITE_P(stores, lock_client_test,
                         ::testing::Values(test::memory_backend, test::dynalite_backend,
                                           test::moto_backend),
                         [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(atomic_stores, contention_test,
                         ::testing::Values(test::memory_backend, test::dynalite_backend),
                         [](const auto& info) { return info.param.name; });
INSTANTIATE_TEST_SUITE_P(servers, server_lock_test,
                         ::testing::Values(test::dynalite_backend, test::moto_backend),
                         [](const auto& info) { return info.param.name; });

}  // namespace
