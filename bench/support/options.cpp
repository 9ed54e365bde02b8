#include "options.hpp"

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

/// A comma-separated list of positive counts, e.g. "1,16,64".
std::vector<int> parse_counts(std::string_view flag, std::string_view text) {
    std::vector<int> counts;
    while (true) {
        const auto comma = text.find(',');
        const auto part = text.substr(0, comma);
        int value = 0;
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
        if (ec != std::errc{} || end != part.data() + part.size() || value < 1 || value > 10000)
            bad_value(flag, text);
        counts.push_back(value);
        if (comma == std::string_view::npos)
            return counts;
        text.remove_prefix(comma + 1);
    }
}

}  // namespace

options parse_options(int argc, char** argv, std::initializer_list<std::string_view> allowed) {
    options opts;
    for (int i = 1; i < argc; ++i) {
        std::string_view flag = argv[i];
        std::string_view value;
        if (const auto eq = flag.find('='); eq != std::string_view::npos) {
            value = flag.substr(eq + 1);
            flag = flag.substr(0, eq);
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            throw std::invalid_argument(std::string(flag) + ": missing value");
        }
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
    }
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
