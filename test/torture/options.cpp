#include "options.hpp"

#include "harness/command_line.hpp"

#include <dynalock/dynamodb_store.hpp>

#include <charconv>
#include <stdexcept>
#include <string_view>

namespace dynalock::torture {
namespace {

template <class Number>
Number parse_number(std::string_view flag, std::string_view text, Number low, Number high) {
    Number value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc{} || end != text.data() + text.size() || value < low || value > high)
        throw std::invalid_argument(std::string(flag) + ": expected a number from " +
                                    std::to_string(low) + " to " + std::to_string(high) +
                                    ", got '" + std::string(text) + "'");
    return value;
}

}  // namespace

dynamodb::client_options client_options_for(const std::string& endpoint_url) {
    return {.region = "us-east-1",
            .endpoint_url = endpoint_url,
            .credentials = credentials{"torture", "dynalite-does-not-check"}};
}

dynalock::item protected_item_key(const std::string& lock_key) {
    return {
        {dynamodb_store_options{}.partition_key_name, attribute_value("protected-" + lock_key)}};
}

options parse_options(int argc, char** argv) {
    options o;
    harness::for_each_flag(
        argc, argv, {"--worker"}, [&](std::string_view flag, std::string_view value) {
            if (flag == "--worker") {
                o.worker = true;
            } else if (flag == "--seconds") {
                o.seconds = parse_number(flag, value, 0.1, 1e7);
            } else if (flag == "--processes") {
                o.processes = parse_number(flag, value, 1, 64);
            } else if (flag == "--keys") {
                o.keys = parse_number(flag, value, 1, 1000);
            } else if (flag == "--lease-ms") {
                o.lease = std::chrono::milliseconds(parse_number(flag, value, 100, 600'000));
            } else if (flag == "--endpoint-url") {
                o.endpoint_url = value;
            } else if (flag == "--seed") {
                o.seed = parse_number<std::uint64_t>(flag, value, 0, UINT64_MAX);
                o.seed_given = true;
            } else if (flag == "--index") {
                o.index = parse_number(flag, value, 0, 63);
            } else if (flag == "--lock-table") {
                o.lock_table = value;
            } else if (flag == "--data-table") {
                o.data_table = value;
            } else if (flag == "--log") {
                o.log_path = value;
            } else {
                throw std::invalid_argument("unknown flag " + std::string(flag) +
                                            " (see the comment at the top of torture.cpp)");
            }
        });
    if (o.worker && (o.endpoint_url.empty() || o.lock_table.empty() || o.data_table.empty() ||
                     o.log_path.empty()))
        throw std::invalid_argument(
            "--worker needs --endpoint-url, --lock-table, --data-table and --log");
    return o;
}

}  // namespace dynalock::torture
