#include "options.hpp"

#include "harness/command_line.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>

namespace dynalock::bench {
namespace {

[[noreturn]] void bad_value(std::string_view flag, std::string_view value) {
    throw std::invalid_argument(std::string(flag) + ": invalid value '" + std::string(value) + "'");
}

double parse_seconds(std::string_view flag, std::string_view text) {
    double value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || !(value > 0) || value > 3600)
        bad_value(flag, text);
    return value;
}

/// A whole number in [1, max]; `whole` is what the error names (the list it is from).
int parse_count(std::string_view flag, std::string_view text, int max, std::string_view whole) {
    int value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > max)
        bad_value(flag, whole);
    return value;
}

int parse_count(std::string_view flag, std::string_view text, int max) {
    return parse_count(flag, text, max, text);
}

/// A comma-separated list of positive counts, e.g. "1,16,64".
std::vector<int> parse_counts(std::string_view flag, std::string_view text) {
    std::vector<int> counts;
    const auto whole = text;
    while (true) {
        const auto comma = text.find(',');
        counts.push_back(parse_count(flag, text.substr(0, comma), 10000, whole));
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
    bad_value(flag, text);
}

}  // namespace

options parse_options(int argc, char** argv, std::initializer_list<std::string_view> allowed) {
    options opts;
    harness::for_each_flag(argc, argv, {}, [&](std::string_view flag, std::string_view value) {
        if (std::find(allowed.begin(), allowed.end(), flag) == allowed.end()) {
            std::string known;
            for (const auto name : allowed)
                known += " " + std::string(name);
            throw std::invalid_argument("unknown flag '" + std::string(flag) + "'; known:" + known);
        }
        if (flag == "--seconds")
            opts.seconds = parse_seconds(flag, value);
        else if (flag == "--conns")
            opts.conns = parse_counts(flag, value);
        else if (flag == "--in-flight")
            opts.in_flight = parse_counts(flag, value);
        else if (flag == "--endpoint-url")
            opts.endpoint_url = std::string(value);
        else if (flag == "--store")
            opts.store = parse_store(flag, value);
        else if (flag == "--leases")
            opts.leases = parse_count(flag, value, 10'000'000);
        else if (flag == "--lease-ms")
            opts.lease = std::chrono::milliseconds(parse_count(flag, value, 3'600'000));
        else if (flag == "--heartbeat-ms")
            opts.heartbeat = std::chrono::milliseconds(parse_count(flag, value, 3'600'000));
        else if (flag == "--floor-conns")
            opts.floor_conns = parse_count(flag, value, 10000);
        else if (flag == "--floor-seconds")
            opts.floor_seconds = parse_seconds(flag, value);
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
