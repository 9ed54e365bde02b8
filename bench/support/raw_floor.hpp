#pragma once

#include "harness/server.hpp"
#include "phase_meter.hpp"

#include <cstdint>
#include <string_view>

/// The floor: what a request costs the client when it only moves prebuilt bytes.
/// K keep-alive connections, each sending the workload's UpdateItem again as soon
/// as the previous response is complete, from one epoll loop on non-blocking
/// sockets: no signing, no JSON, no Asio. Syscalls are what is left.
namespace dynalock::bench {

inline constexpr std::string_view floor_table = "dynalock_bench_floor";

struct floor_result {
    std::uint64_t requests = 0;  ///< completed with 200
    std::uint64_t errors = 0;    ///< completed with another status
    phase_cost cost;             ///< over the send loop only
};

/// Creates `floor_table` unless it exists and puts the items of connections 0..conns-1,
/// with raw requests (dynalite creates tables at once with --createTableMs 0).
void prepare_floor(const harness::server_address& server, int conns);

/// Unmeasured, before each measurement: a server's JIT and a client's
/// connections are cold at first, and this is not what either bench compares.
inline constexpr double warm_up_seconds = 1.0;

/// Runs the floor loop for `warm_up_seconds`, then for `seconds` measured; each
/// time lets the requests in flight finish.
floor_result run_floor(const harness::server_address& server, int conns, double seconds);

}  // namespace dynalock::bench
