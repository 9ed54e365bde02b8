// The code users write, as they write it: every operation of lock_client,
// lease and dynamodb::client awaited directly, with keys, options, requests
// and tokens spelled inline, without any compiler workaround. Compiled in
// every build of the test command (warnings as errors, ASan and UBSan, TSan):
// a shape that miscompiles shows up here as a crash or a sanitizer report.
// Public headers only, through the public dependency.
//
// Runs against the memory store, then once more against dynalite (where the
// dynamodb::client shapes run too).

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/fencing.hpp>
#include <dynalock/lock_client.hpp>
#include <dynalock/memory_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Runs a test coroutine on `io` to its end; its exceptions fail the test.
void run(asio::io_context& io, asio::awaitable<void> test) {
    bool finished = false;
    asio::co_spawn(io, std::move(test), [&](std::exception_ptr e) {
        finished = true;
        if (e) {
            try {
                std::rethrow_exception(e);
            } catch (const std::exception& x) {
                ADD_FAILURE() << "the test coroutine threw: " << x.what();
            }
        }
    });
    io.restart();
    io.run_for(120s);  // a hang fails below instead of stalling the suite
    EXPECT_TRUE(finished) << "the test coroutine did not finish";
}

// Every lock_client and lease operation awaited directly. `p` prefixes the
// lock names, so that runs on one table do not meet.
asio::awaitable<void> lock_shapes(dynalock::lock_client& locks, std::string p) {
    // 1. A braced key built in the co_await expression: the first program a
    //    user writes.
    dynalock::lease l1 = co_await locks.async_acquire(dynalock::lock_key{p + "job"});
    EXPECT_TRUE(l1.held());
    EXPECT_EQ(l1.fence(), 1u);
    // 2. Released, then taken again with a parenthesised key.
    co_await locks.async_release(l1);
    dynalock::lease l2 = co_await locks.async_acquire(dynalock::lock_key(p + "job"));
    EXPECT_EQ(l2.fence(), 2u);
    co_await locks.async_release(l2);
    // 3. A key from a braced list, 4. from a string, 5. a string literal.
    dynalock::lease l3 = co_await locks.async_acquire({p + "job"});
    co_await locks.async_release(l3);
    dynalock::lease l4 = co_await locks.async_acquire(std::string(p) + "job");
    EXPECT_EQ(l4.fence(), 4u);
    co_await locks.async_release(l4);
    if (p.empty()) {
        dynalock::lease l5 = co_await locks.async_acquire("literal");
        EXPECT_EQ(l5.key().partition, "literal");
        co_await locks.async_release(l5);
    }

    // 6. Designated options inline, with a payload and extra attributes.
    const dynalock::bytes payload{std::byte{'h'}, std::byte{'i'}};
    const dynalock::attribute_map extra{{"region", "eu-west-1"}};
    dynalock::lease l6 = co_await locks.async_acquire(
        {p + "data"}, {.wait = 5s, .data = payload, .extra = extra, .reentrant = true});
    EXPECT_EQ(l6.data(), std::optional(payload));
    // 7. The same key again, reentrant, options inline.
    dynalock::lease again = co_await locks.async_acquire({p + "data"}, {.reentrant = true});
    EXPECT_EQ(again.record_version(), l6.record_version());

    // 8. async_get and 9. async_list, awaited directly.
    std::optional<dynalock::lock_record> seen = co_await locks.async_get({p + "data"});
    EXPECT_TRUE(seen && seen->other.contains("region"));
    std::vector<dynalock::lock_record> all = co_await locks.async_list();
    EXPECT_GE(all.size(), 2u);

    // 10. A manual heartbeat, without and 11. with a new lease.
    co_await l6.async_heartbeat();
    co_await l6.async_heartbeat(30s);
    EXPECT_EQ(l6.duration(), 30s);

    // 12. Released with a last payload; 13. async_wait_lost then says why.
    const dynalock::bytes last{std::byte{'b'}, std::byte{'y'}, std::byte{'e'}};
    co_await locks.async_release(l6, last);
    EXPECT_EQ(co_await l6.async_wait_lost(), dynalock::loss_reason::released);

    // 14. A refusal as a tuple, 15. the same through redirect_error, 16. and
    //     as an exception from the default token.
    dynalock::lease busy = co_await locks.async_acquire({p + "busy"});
    auto [ec, none] =
        co_await locks.async_try_acquire({p + "busy"}, asio::as_tuple(asio::deferred));
    EXPECT_EQ(ec, dynalock::errc::lock_not_granted);
    EXPECT_FALSE(none.held());
    dynalock::error_code redirected;
    co_await locks.async_try_acquire({p + "busy"},
                                     asio::redirect_error(asio::use_awaitable, redirected));
    EXPECT_EQ(redirected, dynalock::errc::lock_not_granted);
    bool thrown = false;
    try {
        co_await locks.async_try_acquire({p + "busy"}, {.wait = 0ms});
    } catch (const boost::system::system_error& e) {
        thrown = e.code() == dynalock::errc::lock_not_granted;
    }
    EXPECT_TRUE(thrown);

    // 17. Awaiting in a loop condition: try until the holder lets go (it
    //     does after the first refusal).
    int tries = 0;
    while (std::get<0>(
        co_await locks.async_try_acquire({p + "busy"}, asio::as_tuple(asio::deferred)))) {
        if (++tries == 1) {
            co_await locks.async_release(busy, asio::use_awaitable);
        }
        EXPECT_LT(tries, 3);
    }
    EXPECT_EQ(tries, 1);

    // 18. Awaiting in both arms of a ternary.
    const bool wait = tries > 0;
    dynalock::lease t = wait ? co_await locks.async_acquire({p + "ternary"}, {.wait = 1s})
                             : co_await locks.async_try_acquire({p + "ternary"});
    EXPECT_TRUE(t.held());

    // 19. Bound work awaited directly: the lease is released after it.
    bool worked = false;
    auto work = [&]() -> asio::awaitable<void> {
        worked = true;
        co_return;
    };
    dynalock::error_code with = co_await locks.async_with_lease(t, work());
    EXPECT_FALSE(with) << with.message();
    EXPECT_TRUE(worked);
    EXPECT_EQ(t.reason(), dynalock::loss_reason::released);

    // 20. A set of keys, options inline.
    std::vector<dynalock::lock_key> keys;
    for (int i = 0; i < 5; ++i) {
        keys.emplace_back(p + "many-" + std::to_string(i));
    }
    dynalock::acquire_many_result many =
        co_await locks.async_acquire_many(keys, {.concurrency = 2, .each = {.wait = 1s}});
    EXPECT_EQ(many.granted.size(), 5u);
    EXPECT_TRUE(many.refused.empty());
    for (auto& l : many.granted) {
        co_await locks.async_release(l, asio::as_tuple(asio::use_awaitable));
    }
    // 21. async_acquire_many with only a token.
    auto [many_ec, again_many] =
        co_await locks.async_acquire_many(keys, asio::as_tuple(asio::deferred));
    EXPECT_FALSE(many_ec);
    EXPECT_EQ(again_many.granted.size(), 5u);
    // 22. async_list with only a token.
    auto [list_ec, listed] = co_await locks.async_list(asio::as_tuple(asio::deferred));
    EXPECT_FALSE(list_ec);
    EXPECT_GE(listed.size(), 5u);

    // 23. Closing releases what is still held.
    co_await locks.async_close();
    EXPECT_EQ(again_many.granted.front().reason(), dynalock::loss_reason::client_closed);
}

// A callback, and a future: the shapes of code that does not use coroutines.
void completion_styles(asio::io_context& io, dynalock::lock_client& locks, const std::string& p) {
    std::optional<dynalock::lease> by_callback;
    locks.async_acquire({p + "callback"}, [&](dynalock::error_code ec, dynalock::lease l) {
        EXPECT_FALSE(ec) << ec.message();
        by_callback = std::move(l);
    });
    std::future<dynalock::lease> future = locks.async_acquire({p + "future"}, asio::use_future);
    io.restart();
    while (!(by_callback && future.wait_for(0s) == std::future_status::ready) &&
           io.run_one_for(60s) != 0) {
    }
    ASSERT_TRUE(by_callback.has_value());
    EXPECT_TRUE(by_callback->held());
    ASSERT_EQ(future.wait_for(0s), std::future_status::ready);
    dynalock::lease l = future.get();
    EXPECT_TRUE(l.held());
    std::future<void> released = locks.async_release(l, asio::use_future);
    io.restart();
    while (released.wait_for(0s) != std::future_status::ready && io.run_one_for(60s) != 0) {
    }
    EXPECT_NO_THROW(released.get());
}

TEST(natural_usage, on_the_memory_store) {
    asio::io_context io;
    dynalock::memory_store store(io.get_executor());
    dynalock::lock_client locks(store);
    completion_styles(io, locks, "");
    run(io, lock_shapes(locks, ""));
}

std::string dynalite_url() {
    const char* url = std::getenv("DYNALOCK_TEST_DYNALITE_URL");
    if (url == nullptr) {
        ADD_FAILURE() << "DYNALOCK_TEST_DYNALITE_URL is not set: run under tools/test_servers.py";
        return {};
    }
    return url;
}

std::string fresh_table_name() {
    std::random_device random;
    return "natural-" + std::to_string(random()) + "-" + std::to_string(random());
}

// Every dynamodb::client operation awaited directly, requests inline or
// named, per-call options inline.
asio::awaitable<void> client_shapes(dynalock::dynamodb::client& db, dynalock::dynamodb_store& store,
                                    std::string table) {
    namespace ddb = dynalock::dynamodb;
    // Requests built inline, 1. alone and 2. with per-call options.
    ddb::describe_table_response described =
        co_await db.async_execute(ddb::describe_table_request{table});
    EXPECT_EQ(described.table.table_name, table);
    co_await db.async_execute(
        ddb::put_item_request{.table_name = table,
                              .item = {{"key", "item-1"}, {"n", dynalock::number{"1"}}}},
        {.deadline = std::chrono::steady_clock::now() + 10s});
    // 3. A named request.
    const ddb::update_item_request update{
        .table_name = table,
        .key = {{"key", "item-1"}},
        .update_expression = "SET n = n + :one",
        .expression_attribute_values = {{":one", dynalock::number{"1"}}},
        .return_values = ddb::return_values::all_new};
    ddb::update_item_response updated = co_await db.async_execute(update);
    EXPECT_EQ(updated.attributes->at("n").as_number()->text, "2");
    // 4. A response used in the same expression.
    EXPECT_TRUE((co_await db.async_execute(ddb::get_item_request{
                     .table_name = table, .key = {{"key", "item-1"}}, .consistent_read = true}))
                    .item.has_value());
    const std::size_t found = (co_await db.async_execute(ddb::query_request{
                                   .table_name = table,
                                   .key_condition_expression = "#k = :k",
                                   .expression_attribute_names = {{"#k", "key"}},
                                   .expression_attribute_values = {{":k", "item-1"}}}))
                                  .items.size();
    EXPECT_EQ(found, 1u);
    EXPECT_GE((co_await db.async_execute(ddb::scan_request{.table_name = table})).items.size(), 1u);
    co_await db.async_execute(
        ddb::delete_item_request{.table_name = table, .key = {{"key", "item-1"}}});
    // 5. A fenced write built inline from a lease. dynalite has no
    //    transactions: the write must fail cleanly, with an error code.
    dynalock::lock_client locks(store);
    dynalock::lease l = co_await locks.async_acquire("fenced");
    auto [tec, tr] = co_await db.async_execute(
        dynalock::fenced_write(store, l,
                               ddb::transact_put{.table_name = table, .item = {{"key", "item-2"}}}),
        asio::as_tuple(asio::deferred));
    EXPECT_TRUE(tec);
    co_await locks.async_close();
    // 6. Time to live, which dynalite may not answer: only no crash matters.
    auto [dec, dr] = co_await db.async_execute(ddb::describe_time_to_live_request{table},
                                               asio::as_tuple(asio::use_awaitable));
    (void)dec;
    (void)dr;
}

TEST(natural_usage, on_dynalite) {
    const std::string url = dynalite_url();
    ASSERT_FALSE(url.empty());
    asio::io_context io;
    dynalock::dynamodb::client db(io.get_executor(),
                                  {.region = "us-east-1",
                                   .endpoint_url = url,
                                   .credentials = dynalock::credentials{"x", "y"}});
    const std::string table = fresh_table_name();
    dynalock::dynamodb_store store(db, {.table_name = table});
    run(io, [&]() -> asio::awaitable<void> {
        co_await store.async_create_table({});
        co_await store.async_check_table();
    }());
    {
        dynalock::lock_client locks(store, {.lease = 10s, .heartbeat_period = 2s});
        completion_styles(io, locks, "dynalite-");
        run(io, lock_shapes(locks, "dynalite-"));
    }
    run(io, client_shapes(db, store, table));
    run(io, [&]() -> asio::awaitable<void> {
        co_await db.async_execute(dynalock::dynamodb::delete_table_request{table});
    }());
}

}  // namespace
