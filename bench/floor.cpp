// The raw floor alone: prebuilt UpdateItem bytes over K keep-alive connections
// from an epoll loop. What the client's CPU per request is compared against.
//   floor --seconds T --conns K[,K...] [--endpoint-url http://host:port]

#include "harness/json_line.hpp"
#include "harness/server.hpp"
#include "support/options.hpp"
#include "support/raw_floor.hpp"

namespace {

constexpr std::string_view usage =
    "usage: floor [--seconds T] [--conns K[,K...]] [--endpoint-url http://host:port]\n"
    "The raw floor: prebuilt UpdateItem requests over K keep-alive connections from an\n"
    "epoll loop, for T seconds (default 5) per K (default 16), against a dynalite\n"
    "started here unless --endpoint-url names one. One JSON line per K.\n";

}  // namespace

int main(int argc, char** argv) {
    using namespace dynalock::bench;
    return run_main("floor", [&] {
        const auto opts =
            parse_options(argc, argv, usage, {"--seconds", "--conns", "--endpoint-url"});
        const dynalock::harness::dynamodb_server server(opts.endpoint_url);
        for (const int conns : opts.conns) {
            prepare_floor(server.address(), conns);
            const auto result = run_floor(server.address(), conns, opts.seconds);
            dynalock::harness::json_line()
                .add("bench", "floor")
                .add("conns", conns)
                .add("seconds", opts.seconds)
                .add("requests", result.requests)
                .add("errors", result.errors)
                .add("req_per_s", static_cast<double>(result.requests) / result.cost.wall_seconds)
                .add("floor_cpu_us_per_req",
                     result.cost.cpu_us / static_cast<double>(result.requests))
                .print();
        }
    });
}
