#include "options.hpp"

#include "harness/command_line.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace dynalock::bench {
namespace {

constexpr int max_count = 10000;

/// A comma-separated list of counts from 1 to max_count, e.g. "1,16,64".
std::vector<int> parse_counts(std::string_view flag, std::string_view text) {
    std::vector<int> counts;
    while (true) {
        const auto comma = text.find(',');
        counts.push_back(harness::parse_number(flag, text.substr(0, comma), 1, max_count));
        if (comma == std::string_view::npos)
            return counts;
        text.remove_prefix(comma + 1);
    }
}

options::store_kind parse_store(std::string_view flag, std::string_view text) {
    if (text == "dynalite")
        return options::store_kind::dynalite;
    if (text == "memory")
        return options::store_kind::memory;
    if (text == "dynamodb")
        return options::store_kind::dynamodb;
    throw std::invalid_argument(std::string(flag) +
                                ": expected dynalite, memory or dynamodb, got '" +
                                std::string(text) + "'");
}

}  // namespace

options parse_options(int argc, char** argv, std::string_view usage,
                      std::initializer_list<std::string_view> allowed) {
    options opts;
    harness::for_each_flag(
        argc, argv, {"--help", "--session"}, [&](std::string_view flag, std::string_view value) {
            if (flag == "--help") {
                std::fwrite(usage.data(), 1, usage.size(), stdout);
                std::exit(0);
            }
            if (std::find(allowed.begin(), allowed.end(), flag) == allowed.end()) {
                std::string known;
                for (const auto name : allowed)
                    known += " " + std::string(name);
                throw std::invalid_argument("unknown flag '" + std::string(flag) +
                                            "'; known:" + known);
            }
            if (flag == "--seconds")
                opts.seconds = harness::parse_number(flag, value, 0.001, 3600.0);
            else if (flag == "--conns")
                opts.conns = parse_counts(flag, value);
            else if (flag == "--in-flight")
                opts.in_flight = parse_counts(flag, value);
            else if (flag == "--endpoint-url")
                opts.endpoint_url = std::string(value);
            else if (flag == "--store")
                opts.store = parse_store(flag, value);
            else if (flag == "--leases")
                opts.leases = harness::parse_number(flag, value, 1, 10'000'000);
            else if (flag == "--lease-ms")
                opts.lease =
                    std::chrono::milliseconds(harness::parse_number(flag, value, 1, 3'600'000));
            else if (flag == "--heartbeat-ms")
                opts.heartbeat =
                    std::chrono::milliseconds(harness::parse_number(flag, value, 1, 3'600'000));
            else if (flag == "--floor-conns")
                opts.floor_conns = harness::parse_number(flag, value, 1, max_count);
            else if (flag == "--floor-seconds")
                opts.floor_seconds = harness::parse_number(flag, value, 0.001, 3600.0);
            else if (flag == "--rate")
                opts.rate = harness::parse_number(flag, value, 0.001, 10'000'000.0);
            else if (flag == "--tick-ms")
                opts.tick =
                    std::chrono::milliseconds(harness::parse_number(flag, value, 1, 60'000));
            else if (flag == "--session")
                opts.session = true;
        });
    return opts;
}

}  // namespace dynalock::bench

namespace dynalock::bench {

int run_main(std::string_view bench_name, const std::function<void()>& body) {
    try {
        body();
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%.*s: %s\n", static_cast<int>(bench_name.size()), bench_name.data(),
                     e.what());
        return 1;
    }
}

}  // namespace dynalock::bench
