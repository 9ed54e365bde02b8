// Many leases held by one lock_client on one io_context thread: what holding
// costs the client per heartbeat and per lease, and whether any lease is lost.
// Usage below (`hold_many --help`).

#include "harness/json_line.hpp"
#include "harness/server.hpp"
#include "support/allocation_counter.hpp"
#include "support/options.hpp"
#include "support/phase_meter.hpp"
#include "support/raw_floor.hpp"

#include <dynalock/dynamodb_client.hpp>
#include <dynalock/dynamodb_store.hpp>
#include <dynalock/lock_client.hpp>
#include <dynalock/memory_store.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace asio = boost::asio;
namespace bench = dynalock::bench;
namespace harness = dynalock::harness;
using clock_type = std::chrono::steady_clock;

constexpr std::string_view usage =
    "usage: hold_many [--store dynalite|memory|dynamodb] [--leases N] [--lease-ms L]\n"
    "                 [--heartbeat-ms H] [--seconds T] [--session] [--endpoint-url URL]\n"
    "                 [--floor-conns K] [--floor-seconds S]\n"
    "Acquires N leases (default 1000; lease L ms, default 10000; heartbeat every H ms,\n"
    "default 3000) with one lock_client on one thread, holds them T seconds (default 5),\n"
    "releases them all, and prints one JSON line. --session: every lease under the\n"
    "client's default session, so one heartbeat keeps them all.\n"
    "With dynalite (started here unless --endpoint-url names a dynalite-compatible plain\n"
    "HTTP server: the floors send unsigned requests), two raw floors are measured first,\n"
    "S seconds each (default 5), on the same server: paced, the heartbeats' own load\n"
    "(N / H requests a second on the client's ticks over its connection bound), and flat\n"
    "out over K connections (default 1).\n"
    "--store dynamodb speaks to any DynamoDB endpoint, real AWS included, configured as\n"
    "the AWS SDKs are (region and credentials from the environment and profile;\n"
    "--endpoint-url or AWS_ENDPOINT_URL_DYNAMODB overrides the endpoint); no floor then.\n";

const std::string table_name = "dynalock_bench_hold";
/// Acquires in flight at once, the lock client's bound on lease requests and
/// the connection pool's size: every request in flight has its connection.
constexpr std::size_t requests_in_flight = 64;
/// The lease driver's tick: heartbeats due within it go out on one wake-up.
/// Mirrors lib/lock/lease_driver.cpp, which the bench cannot include; the
/// floor's timer needs at least 1 ms where the driver's would not tick at all.
std::chrono::milliseconds heartbeat_tick(std::chrono::milliseconds period) {
    return std::clamp(period / 100, std::chrono::milliseconds(1), std::chrono::milliseconds(10));
}
/// Between progress lines on stderr during the hold.
constexpr std::chrono::seconds progress_period{10};

constexpr auto as_tuple_deferred = asio::as_tuple(asio::deferred);

double to_ms(std::chrono::microseconds us) {
    return static_cast<double>(us.count()) / 1000.0;
}

clock_type::duration to_duration(double seconds) {
    return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds));
}

std::string lock_name(int index) {
    return "hold-" + std::to_string(index);
}

asio::awaitable<void> create_table(dynalock::dynamodb_store& store) {
    dynalock::diagnostics diag;
    auto create = store.async_create_table({.diagnostics = &diag}, as_tuple_deferred);
    const auto [ec] = co_await std::move(create);
    if (ec && ec != dynalock::errc::resource_in_use)
        throw boost::system::system_error(ec, "CreateTable " + table_name + ": " + diag.message);
}

/// Acquires hold-0 to hold-(count - 1), `requests_in_flight` at a time; the first refusal is told
/// on stderr.
asio::awaitable<dynalock::acquire_many_result> acquire_all(dynalock::lock_client& client,
                                                           int count) {
    std::vector<dynalock::lock_key> keys(static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i)
        keys[static_cast<std::size_t>(i)].partition = lock_name(i);
    auto acquire = client.async_acquire_many(std::move(keys), {.concurrency = requests_in_flight},
                                             as_tuple_deferred);
    auto [ec, result] = co_await std::move(acquire);
    if (ec)
        throw boost::system::system_error(ec, "acquire_many");
    if (!result.refused.empty()) {
        const auto& first = result.refused.front();
        std::fprintf(stderr, "hold_many: acquire %s refused: %s %s\n", first.key.partition.c_str(),
                     first.error.message().c_str(), first.message.c_str());
    }
    co_return std::move(result);
}

std::uint64_t lost(const dynalock::lock_client_stats& s) {
    return s.lost_stolen + s.lost_expired;
}

/// The heartbeat latencies recorded between two snapshots of the same client.
dynalock::latency_histogram latencies_between(const dynalock::lock_client_stats& before,
                                              const dynalock::lock_client_stats& after) {
    auto h = after.heartbeat_latency;
    for (std::size_t i = 0; i < h.counts.size(); ++i)
        h.counts[i] -= before.heartbeat_latency.counts[i];
    return h;
}

asio::awaitable<void> pause_for(clock_type::duration d) {
    asio::steady_timer timer(co_await asio::this_coro::executor, d);
    auto wait = timer.async_wait(as_tuple_deferred);
    co_await std::move(wait);
}

/// The raw floors measured before the hold, on the same server.
struct floors {
    /// The heartbeats' load: their rate, the client's tick and connection bound.
    bench::floor_result paced;
    bench::paced_load paced_load;
    /// Flat out over --floor-conns connections.
    bench::floor_result flat_out;
};

double cpu_us_per_request(const bench::floor_result& r) {
    return r.cost.cpu_us / static_cast<double>(r.requests);
}

/// Acquire, hold, release: the measured part of the run. `floor` is set when
/// the leases live on a server.
asio::awaitable<void> hold_many(dynalock::lock_client& client, const bench::options& opts,
                                std::optional<floors> floor) {
    const auto rss_before = bench::resident_bytes();
    const auto heap_before = bench::heap_bytes_in_use();

    const bench::phase_meter acquire_meter;
    const auto acquired = co_await acquire_all(client, opts.leases);
    const auto acquire_cost = acquire_meter.elapsed();
    const auto hold_start = client.stats();
    const auto requests_at_hold_start = hold_start.store_reads + hold_start.store_writes;
    const auto session_at_hold_start = client.default_session().stats();
    std::fprintf(stderr, "hold_many: %zu leases acquired in %.1f s, %zu refused, max gap %.0f ms\n",
                 acquired.granted.size(), acquire_cost.wall_seconds, acquired.refused.size(),
                 to_ms(hold_start.max_heartbeat_gap));

    const bench::phase_meter hold_meter;
    const auto allocations_at_hold_start = bench::allocations();
    const auto hold_end = clock_type::now() + to_duration(opts.seconds);
    while (clock_type::now() < hold_end) {
        co_await pause_for(
            std::min<clock_type::duration>(progress_period, hold_end - clock_type::now()));
        const auto s = client.stats();
        std::fprintf(stderr,
                     "hold_many: %.0f s: held %zu, lost %llu, heartbeats %llu (failed %llu), "
                     "in flight %zu/%zu, max gap %.0f ms\n",
                     hold_meter.elapsed().wall_seconds, s.held,
                     static_cast<unsigned long long>(lost(s)),
                     static_cast<unsigned long long>(s.heartbeats_sent),
                     static_cast<unsigned long long>(s.heartbeats_failed), s.in_flight,
                     s.in_flight_limit, to_ms(s.max_heartbeat_gap));
    }
    const auto hold_cost = hold_meter.elapsed();
    const auto allocations_during_hold = bench::allocations() - allocations_at_hold_start;
    const auto rss_held = bench::resident_bytes();
    const auto heap_held = bench::heap_bytes_in_use();
    const auto held = client.stats();
    const auto hold_requests = client.stats();
    const auto requests_during_hold =
        hold_requests.store_reads + hold_requests.store_writes - requests_at_hold_start;
    const auto session_held = client.default_session().stats();

    const bench::phase_meter release_meter;
    auto close = client.async_close(as_tuple_deferred);
    const auto [close_ec] = co_await std::move(close);
    const auto release_cost = release_meter.elapsed();
    const auto end = client.stats();
    if (close_ec)
        std::fprintf(stderr, "hold_many: close: %s\n", close_ec.message().c_str());

    const auto heartbeats = held.heartbeats_sent - hold_start.heartbeats_sent;
    const auto latencies = latencies_between(hold_start, held);
    const double cpu_us_per_heartbeat = hold_cost.cpu_us / static_cast<double>(heartbeats);
    harness::json_line line;
    line.add("bench", "hold_many")
        .add("store", opts.store == bench::options::store_kind::memory     ? "memory"
                      : opts.store == bench::options::store_kind::dynamodb ? "dynamodb"
                                                                           : "dynalite")
        .add("leases", opts.leases)
        .add("lease_ms", static_cast<std::int64_t>(opts.lease.count()))
        .add("heartbeat_ms", static_cast<std::int64_t>(opts.heartbeat.count()))
        .add("seconds", opts.seconds)
        .add("session", opts.session)
        .add("acquired", end.acquired)
        .add("acquire_failures", static_cast<std::uint64_t>(acquired.refused.size()))
        .add("held_at_end", static_cast<std::uint64_t>(held.held))
        .add("lost", lost(end))
        .add("lost_stolen", end.lost_stolen)
        .add("lost_expired", end.lost_expired)
        .add("released", end.released)
        .add("heartbeats", heartbeats)
        .add("heartbeat_failures", held.heartbeats_failed - hold_start.heartbeats_failed)
        .add("throttled", end.throttled)
        .add("heartbeats_per_s", static_cast<double>(heartbeats) / hold_cost.wall_seconds)
        .add("session_heartbeats", session_held.heartbeats - session_at_hold_start.heartbeats)
        .add("store_requests_during_hold", requests_during_hold)
        .add("client_cpu_s_during_hold", hold_cost.cpu_us / 1e6)
        .add("client_cpu_us_per_heartbeat", cpu_us_per_heartbeat)
        .add("client_kernel_cpu_us_per_heartbeat",
             hold_cost.system_cpu_us / static_cast<double>(heartbeats))
        // Includes the progress lines and the stats snapshots, a few per 10 s.
        .add("allocs_per_heartbeat",
             static_cast<double>(allocations_during_hold) / static_cast<double>(heartbeats))
        // Voluntary context switches: each is a wait in epoll that ended in a wake-up.
        .add("wakeups_per_heartbeat",
             static_cast<double>(hold_cost.sleeps) / static_cast<double>(heartbeats))
        .add("client_cpu_share", hold_cost.cpu_us / 1e6 / hold_cost.wall_seconds)
        // Signed: RSS can shrink when the allocator returns startup memory.
        .add("rss_bytes_per_lease",
             (static_cast<double>(rss_held) - static_cast<double>(rss_before)) /
                 static_cast<double>(opts.leases))
        // What the heap holds for each lease (the client's state, and the
        // bench's handles and keys), without freed memory kept for reuse.
        .add("heap_bytes_per_lease",
             (static_cast<double>(heap_held) - static_cast<double>(heap_before)) /
                 static_cast<double>(opts.leases))
        .add("p50_heartbeat_ms", to_ms(latencies.quantile(0.5)))
        .add("p99_heartbeat_ms", to_ms(latencies.quantile(0.99)))
        .add("max_gap_ms", to_ms(end.max_heartbeat_gap))
        .add("acquire_s", acquire_cost.wall_seconds)
        .add("release_s", release_cost.wall_seconds);
    if (floor) {
        const double paced_us = cpu_us_per_request(floor->paced);
        const double flat_out_us = cpu_us_per_request(floor->flat_out);
        line.add("paced_floor_rate", floor->paced_load.rate)
            .add("paced_floor_tick_ms", static_cast<std::int64_t>(floor->paced_load.tick.count()))
            .add("paced_floor_conns", floor->paced_load.conns)
            .add("paced_floor_req_per_s",
                 static_cast<double>(floor->paced.requests) / floor->paced.cost.wall_seconds)
            .add("paced_floor_max_queue", floor->paced.max_queue)
            .add("paced_floor_cpu_us_per_req", paced_us)
            .add("paced_floor_kernel_cpu_us_per_req",
                 floor->paced.cost.system_cpu_us / static_cast<double>(floor->paced.requests))
            .add("paced_floor_wakeups_per_req", static_cast<double>(floor->paced.cost.sleeps) /
                                                    static_cast<double>(floor->paced.requests))
            .add("ratio_paced", cpu_us_per_heartbeat / paced_us)
            .add("flat_out_floor_conns", opts.floor_conns)
            .add("flat_out_floor_req_per_s",
                 static_cast<double>(floor->flat_out.requests) / floor->flat_out.cost.wall_seconds)
            .add("flat_out_floor_cpu_us_per_req", flat_out_us)
            .add("flat_out_floor_wakeups_per_req",
                 static_cast<double>(floor->flat_out.cost.sleeps) /
                     static_cast<double>(floor->flat_out.requests))
            .add("ratio_flat_out", cpu_us_per_heartbeat / flat_out_us);
    }
    line.print();
}

/// Runs `body` on `ioc` until it finishes, then stops the context (pooled
/// connections and the store would otherwise keep it running).
void run_on(asio::io_context& ioc, asio::awaitable<void> body) {
    std::exception_ptr failure;
    asio::co_spawn(ioc, std::move(body), [&](std::exception_ptr e) {
        failure = e;
        ioc.stop();
    });
    ioc.run();
    if (failure)
        std::rethrow_exception(failure);
}

dynalock::lock_client_options client_options(const bench::options& opts) {
    dynalock::lock_client_options o;
    o.lease = opts.lease;
    o.heartbeat_period = opts.heartbeat;
    o.max_in_flight = requests_in_flight;
    o.default_session = opts.session;
    return o;
}

void run_memory(const bench::options& opts) {
    asio::io_context ioc(1);
    dynalock::memory_store memory(ioc.get_executor());
    dynalock::lock_client client(memory, client_options(opts));
    run_on(ioc, hold_many(client, opts, std::nullopt));
}

asio::awaitable<void> prepare_and_hold(dynalock::dynamodb_store& store, const bench::options& opts,
                                       std::optional<floors> floor) {
    co_await create_table(store);
    dynalock::lock_client client(store, client_options(opts));
    co_await hold_many(client, opts, floor);
}

void run_dynalite(const bench::options& opts) {
    const harness::dynamodb_server server(opts.endpoint_url);
    floors floor;
    floor.paced_load = {
        .rate = opts.leases / std::chrono::duration<double>(opts.heartbeat).count(),
        .tick = heartbeat_tick(opts.heartbeat),
        .conns = static_cast<int>(requests_in_flight),
    };
    bench::prepare_floor(server.address(), std::max(floor.paced_load.conns, opts.floor_conns));
    std::fprintf(stderr,
                 "hold_many: paced floor, %.0f requests/s on %lld ms ticks over %d connections\n",
                 floor.paced_load.rate, static_cast<long long>(floor.paced_load.tick.count()),
                 floor.paced_load.conns);
    floor.paced = bench::run_paced_floor(server.address(), floor.paced_load, opts.floor_seconds);
    floor.flat_out = bench::run_floor(server.address(), opts.floor_conns, opts.floor_seconds);

    asio::io_context ioc(1);
    // Field by field: g++ 12 warns when designated initializers omit a member that has no
    // default member initializer.
    dynalock::dynamodb::client_options ddb_opts;
    ddb_opts.region = "us-east-1";
    ddb_opts.endpoint_url = server.address().url;
    ddb_opts.credentials.emplace();
    ddb_opts.credentials->access_key_id = "AKIDEXAMPLE";
    ddb_opts.credentials->secret_access_key = "secret";
    ddb_opts.http.max_connections = requests_in_flight;
    dynalock::dynamodb::client ddb(ioc.get_executor(), std::move(ddb_opts));
    dynalock::dynamodb_store store(ddb, {.table_name = table_name});
    run_on(ioc, prepare_and_hold(store, opts, floor));
}

// Region, credentials and (unless given) the endpoint as the AWS SDKs find them.
void run_dynamodb(const bench::options& opts) {
    asio::io_context ioc(1);
    dynalock::dynamodb::client_options ddb_opts;
    ddb_opts.endpoint_url = opts.endpoint_url;
    ddb_opts.http.max_connections = requests_in_flight;
    dynalock::dynamodb::client ddb(ioc.get_executor(), std::move(ddb_opts));
    std::cerr << "hold_many: " << ddb.endpoint_url() << " in " << ddb.region() << "\n";
    dynalock::dynamodb_store store(ddb, {.table_name = table_name});
    run_on(ioc, prepare_and_hold(store, opts, std::nullopt));
}

}  // namespace

int main(int argc, char** argv) {
    return bench::run_main("hold_many", [&] {
        const auto opts = bench::parse_options(
            argc, argv, usage,
            {"--session", "--store", "--leases", "--lease-ms", "--heartbeat-ms", "--seconds",
             "--endpoint-url", "--floor-conns", "--floor-seconds"});
        if (opts.store == bench::options::store_kind::memory) {
            if (!opts.endpoint_url.empty())
                throw std::invalid_argument("--endpoint-url: not used with --store memory");
            run_memory(opts);
        } else if (opts.store == bench::options::store_kind::dynamodb) {
            run_dynamodb(opts);
        } else {
            run_dynalite(opts);
        }
    });
}
