// Client CPU per signed conditional UpdateItem, against the raw floor measured
// in the same run on the same server with the same concurrency.
//   dynamodb_throughput --seconds T [--in-flight 1,16,64] [--endpoint-url http://host:port]
// For each K: the floor over K connections, then K coroutines on one io_context
// thread each looping the same UpdateItem through dynalock::dynamodb::client.

#include "harness/json_line.hpp"
#include "harness/server.hpp"
#include "support/allocation_counter.hpp"
#include "support/options.hpp"
#include "support/phase_meter.hpp"
#include "support/raw_floor.hpp"
#include "support/workload.hpp"

#include <dynalock/dynamodb_client.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <tuple>
#include <utility>

namespace {

namespace asio = boost::asio;
namespace ddb = dynalock::dynamodb;
namespace bench = dynalock::bench;
namespace harness = dynalock::harness;
namespace workload = dynalock::bench::workload;
using clock_type = std::chrono::steady_clock;

constexpr auto as_tuple_awaitable = asio::as_tuple(asio::use_awaitable);
const std::string table_name = "dynalock_bench_client";

dynalock::item item_key(int index) {
    return {{std::string(workload::key_attribute), workload::item_key(index)}};
}

ddb::put_item_request put_item(int index) {
    ddb::put_item_request request;
    request.table_name = table_name;
    request.item = item_key(index);
    return request;
}

[[noreturn]] void fail(dynalock::error_code ec, const std::string& what) {
    throw boost::system::system_error(ec, what);
}

/// `client.async_execute(request)` as an awaitable of (error_code, response). The
/// operation is made in one statement and awaited in the next: g++ 12 can destroy
/// a temporary of a full-expression containing co_await twice (a double free,
/// seen here with a request passed as a temporary).
template <class Request>
asio::awaitable<std::tuple<dynalock::error_code, ddb::response_t<Request>>> execute(
    ddb::client& client, const Request& request) {
    auto operation = client.async_execute(request, as_tuple_awaitable);
    co_return co_await std::move(operation);
}

/// Creates the table unless it exists, waits until it is active (at once on
/// dynalite, which is told --createTableMs 0) and puts one item per coroutine.
asio::awaitable<void> prepare_table(ddb::client& client, int items) {
    ddb::describe_table_request describe;
    describe.table_name = table_name;
    const auto described = co_await execute(client, describe);
    auto status = std::get<1>(described).table.status;
    if (const auto ec = std::get<0>(described); ec == dynalock::errc::resource_not_found) {
        ddb::create_table_request create;
        create.table_name = table_name;
        create.partition_key.name = std::string(workload::key_attribute);
        const auto created = co_await execute(client, create);
        if (const auto create_ec = std::get<0>(created);
            create_ec && create_ec != dynalock::errc::resource_in_use)
            fail(create_ec, "CreateTable " + table_name);
        status = std::get<1>(created).table_description.status;
    } else if (ec) {
        fail(ec, "DescribeTable " + table_name);
    }
    asio::steady_timer pause(co_await asio::this_coro::executor);
    while (status != ddb::table_status::active) {
        pause.expires_after(std::chrono::milliseconds(500));
        co_await pause.async_wait(asio::use_awaitable);
        const auto polled = co_await execute(client, describe);
        if (const auto ec = std::get<0>(polled))
            fail(ec, "DescribeTable " + table_name);
        status = std::get<1>(polled).table.status;
    }
    for (int i = 0; i < items; ++i) {
        const auto request = put_item(i);
        const auto put = co_await execute(client, request);
        if (const auto ec = std::get<0>(put))
            fail(ec, "PutItem " + table_name);
    }
}

ddb::update_item_request update_request(int index) {
    return {.table_name = table_name,
            .key = item_key(index),
            .update_expression = std::string(workload::update_expression),
            .condition_expression = std::string(workload::condition_expression),
            .expression_attribute_names = {{"#k", std::string(workload::key_attribute)},
                                           {"#v", std::string(workload::value_attribute)}},
            .expression_attribute_values = {{":v", std::string(workload::value)}}};
}

struct tally {
    std::uint64_t requests = 0;
    std::uint64_t errors = 0;
};

/// Repeats one coroutine's UpdateItem until `deadline`, passing a copy of the
/// request each time as a caller building a fresh request would.
asio::awaitable<void> update_loop(ddb::client& client, int index, clock_type::time_point deadline,
                                  tally& counts) {
    const auto request = update_request(index);
    while (clock_type::now() < deadline) {
        // As in execute(), without its extra coroutine frame in the measured loop.
        auto operation = client.async_execute(request, as_tuple_awaitable);
        const auto result = co_await std::move(operation);
        if (const auto ec = std::get<0>(result); !ec) {
            ++counts.requests;
        } else if (counts.errors++ == 0) {
            std::fprintf(stderr, "dynamodb_throughput: UpdateItem failed: %s\n",
                         ec.message().c_str());
        }
    }
}

struct phase_result {
    tally counts;
    bench::phase_cost cost;
    std::uint64_t allocations = 0;
};

/// Runs `in_flight` update loops for `seconds`, until all have finished.
asio::awaitable<phase_result> run_phase(ddb::client& client, int in_flight, double seconds) {
    const auto ex = co_await asio::this_coro::executor;
    phase_result result;
    std::exception_ptr failure;
    int running = in_flight;
    asio::steady_timer all_done(ex, clock_type::time_point::max());
    const bench::phase_meter meter;
    const auto allocations_at_start = bench::allocations();
    const auto deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                                  std::chrono::duration<double>(seconds));
    for (int i = 0; i < in_flight; ++i) {
        asio::co_spawn(ex, update_loop(client, i, deadline, result.counts),
                       [&](std::exception_ptr e) {
                           if (e && !failure)
                               failure = e;
                           if (--running == 0)
                               all_done.cancel();
                       });
    }
    co_await all_done.async_wait(as_tuple_awaitable);
    result.cost = meter.elapsed();
    result.allocations = bench::allocations() - allocations_at_start;
    if (failure)
        std::rethrow_exception(failure);
    co_return result;
}

asio::awaitable<void> run_all(ddb::client& client, const harness::server_address& server,
                              const bench::options& opts, int max_in_flight) {
    co_await prepare_table(client, max_in_flight);
    bench::prepare_floor(server, max_in_flight);
    for (const int in_flight : opts.in_flight) {
        // Blocks this thread; the client's idle connections just wait (or time out and reopen in
        // the warm-up).
        const auto floor = bench::run_floor(server, in_flight, opts.seconds);
        co_await run_phase(client, in_flight, bench::warm_up_seconds);
        const auto measured = co_await run_phase(client, in_flight, opts.seconds);

        const auto requests = static_cast<double>(measured.counts.requests);
        const double client_us = measured.cost.cpu_us / requests;
        const double floor_us = floor.cost.cpu_us / static_cast<double>(floor.requests);
        harness::json_line()
            .add("bench", "dynamodb_throughput")
            .add("in_flight", in_flight)
            .add("seconds", opts.seconds)
            .add("requests", measured.counts.requests)
            .add("errors", measured.counts.errors)
            .add("req_per_s", requests / measured.cost.wall_seconds)
            .add("client_cpu_us_per_req", client_us)
            .add("allocs_per_req", static_cast<double>(measured.allocations) / requests)
            .add("wakeups_per_req", static_cast<double>(measured.cost.sleeps) / requests)
            .add("floor_requests", floor.requests)
            .add("floor_errors", floor.errors)
            .add("floor_req_per_s", static_cast<double>(floor.requests) / floor.cost.wall_seconds)
            .add("floor_cpu_us_per_req", floor_us)
            .add("floor_wakeups_per_req",
                 static_cast<double>(floor.cost.sleeps) / static_cast<double>(floor.requests))
            .add("ratio", client_us / floor_us)
            .print();
    }
}

constexpr std::string_view usage =
    "usage: dynamodb_throughput [--seconds T] [--in-flight K[,K...]] "
    "[--endpoint-url http://host:port]\n"
    "Client CPU per signed conditional UpdateItem with K requests in flight (default\n"
    "1,16,64), T seconds each (default 5), against the raw floor over K connections\n"
    "measured in the same run, on a dynalite started here unless --endpoint-url names\n"
    "one. One JSON line per K.\n";

}  // namespace

int main(int argc, char** argv) {
    return bench::run_main("dynamodb_throughput", [&] {
        const auto opts =
            bench::parse_options(argc, argv, usage, {"--seconds", "--in-flight", "--endpoint-url"});
        const harness::dynamodb_server server(opts.endpoint_url);
        const auto max_in_flight = *std::max_element(opts.in_flight.begin(), opts.in_flight.end());

        asio::io_context ioc(1);
        // Field by field: g++ 12 warns when designated initializers omit a member that has no
        // default member initializer.
        ddb::client_options client_opts;
        client_opts.region = "us-east-1";
        client_opts.endpoint_url = server.address().url;
        client_opts.credentials.emplace();
        client_opts.credentials->access_key_id = "AKIDEXAMPLE";
        client_opts.credentials->secret_access_key = "secret";
        client_opts.http.max_connections = static_cast<std::size_t>(max_in_flight);
        ddb::client client(ioc.get_executor(), std::move(client_opts));
        std::exception_ptr failure;
        asio::co_spawn(ioc, run_all(client, server.address(), opts, max_in_flight),
                       [&](std::exception_ptr e) {
                           failure = e;
                           ioc.stop();  // the client's pooled connections would keep run() going
                       });
        ioc.run();
        if (failure)
            std::rethrow_exception(failure);
    });
}
