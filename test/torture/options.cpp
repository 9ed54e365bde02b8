#include "options.hpp"

#include "harness/command_line.hpp"

#include <dynalock/dynamodb_store.hpp>

#include <stdexcept>
#include <string_view>

namespace dynalock::torture {

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
                o.seconds = harness::parse_number(flag, value, 0.1, 1e7);
            } else if (flag == "--processes") {
                o.processes = harness::parse_number(flag, value, 1, 64);
            } else if (flag == "--keys") {
                o.keys = harness::parse_number(flag, value, 1, 1000);
            } else if (flag == "--lease-ms") {
                o.lease = std::chrono::milliseconds(harness::parse_number(flag, value, 100, 600'000));
            } else if (flag == "--endpoint-url") {
                o.endpoint_url = value;
            } else if (flag == "--seed") {
                o.seed = harness::parse_number<std::uint64_t>(flag, value, 0, UINT64_MAX);
                o.seed_given = true;
            } else if (flag == "--index") {
                o.index = harness::parse_number(flag, value, 0, 63);
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
