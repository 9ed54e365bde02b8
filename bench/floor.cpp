// The raw floor alone: prebuilt UpdateItem bytes over K keep-alive connections
// from an epoll loop. What the client's CPU per request is compared against.
//   floor --seconds T --conns K[,K...] [--rate R [--tick-ms M]] [--endpoint-url http://host:port]

#include "harness/json_line.hpp"
#include "harness/server.hpp"
#include "support/options.hpp"
#include "support/raw_floor.hpp"

#include <cstdint>

namespace {

constexpr std::string_view usage =
    "usage: floor [--seconds T] [--conns K[,K...]] [--rate R] [--tick-ms M]\n"
    "             [--endpoint-url http://host:port]\n"
    "The raw floor: prebuilt UpdateItem requests over K keep-alive connections from an\n"
    "epoll loop, for T seconds (default 5) per K (default 16), against a dynalite\n"
    "started here unless --endpoint-url names one. One JSON line per K.\n"
    "Flat out unless --rate is given: then R requests a second fall due and go out on\n"
    "ticks every M ms (default 10), onto idle connections, waiting for one when none is.\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace dynalock::bench;
    return run_main("floor", [&] {
        const auto opts = parse_options(
            argc, argv, usage, {"--seconds", "--conns", "--rate", "--tick-ms", "--endpoint-url"});
        const dynalock::harness::dynamodb_server server(opts.endpoint_url);
        for (const int conns : opts.conns) {
            prepare_floor(server.address(), conns);
            const bool paced = opts.rate > 0;
            const auto result =
                paced ? run_paced_floor(server.address(),
                                        {.rate = opts.rate, .tick = opts.tick, .conns = conns},
                                        opts.seconds)
                      : run_floor(server.address(), conns, opts.seconds);
            const double cpu_us_per_req = result.cost.cpu_us / static_cast<double>(result.requests);
            dynalock::harness::json_line line;
            line.add("bench", "floor")
                .add("mode", paced ? "paced" : "flat_out")
                .add("conns", conns)
                .add("seconds", opts.seconds);
            if (paced) {
                line.add("rate", opts.rate)
                    .add("tick_ms", static_cast<std::int64_t>(opts.tick.count()))
                    .add("max_queue", result.max_queue);
            }
            line.add("requests", result.requests)
                .add("errors", result.errors)
                .add("req_per_s", static_cast<double>(result.requests) / result.cost.wall_seconds)
                .add("client_cpu_us_per_req", cpu_us_per_req)
                .add("kernel_cpu_us_per_req",
                     result.cost.system_cpu_us / static_cast<double>(result.requests))
                .add("wakeups_per_req",
                     static_cast<double>(result.cost.sleeps) / static_cast<double>(result.requests))
                .print();
        }
    });
}
