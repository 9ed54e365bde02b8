#pragma once

#include <chrono>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace dynalock::bench {

/// Command line of a bench. Every flag takes a value (`--flag V` or `--flag=V`)
/// except `--session` and `--help`.
struct options {
    double seconds = 5.0;
    std::vector<int> conns{16};
    std::vector<int> in_flight{1, 16, 64};
    /// Empty: start a local dynalite for the run.
    std::string endpoint_url;
    /// hold_many: where the leases live.
    /// dynamodb: any DynamoDB endpoint (real AWS included) configured the
    /// SDKs' way (AWS_REGION, credentials chain; --endpoint-url overrides).
    enum class store_kind { dynalite, memory, dynamodb };
    store_kind store = store_kind::dynalite;
    int leases = 1000;
    std::chrono::milliseconds lease{10000};
    std::chrono::milliseconds heartbeat{3000};
    /// The raw floor measured before a run that has a server.
    int floor_conns = 1;
    double floor_seconds = 5.0;
    /// floor: requests a second for a paced load; 0 for flat out.
    double rate = 0;
    /// floor: the paced load's tick.
    std::chrono::milliseconds tick{10};
    /// hold_many: every lease under the client's default session.
    bool session = false;
};

/// Parses `argv`, accepting only the flags named in `allowed` (e.g. "--seconds").
/// Throws std::invalid_argument naming the offending flag or value. `--help`
/// prints `usage` on stdout and exits with status 0.
options parse_options(int argc, char** argv, std::string_view usage,
                      std::initializer_list<std::string_view> allowed);

/// Runs a bench's body and turns an escaping exception into a message on stderr
/// and exit status 1, after the stack (and so any server it started) has unwound.
int run_main(std::string_view bench_name, const std::function<void()>& body);

}  // namespace dynalock::bench
