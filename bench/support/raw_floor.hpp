#pragma once

#include "harness/server.hpp"
#include "phase_meter.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

/// The floor: what a request costs the client when it only moves prebuilt bytes.
/// K keep-alive connections carry the workload's UpdateItem from one epoll loop
/// on non-blocking sockets: no signing, no JSON, no Asio. Syscalls are what is
/// left. Two shapes of load, whose costs differ several times over because
/// what a wake-up costs is shared by the requests it serves:
/// - flat out: each connection sends again as soon as its response is complete;
/// - paced: requests fall due at a fixed rate and go out on timer ticks, the
///   way a lock client's heartbeats do.
namespace dynalock::bench {

inline constexpr std::string_view floor_table = "dynalock_bench_floor";

struct floor_result {
    std::uint64_t requests = 0;  ///< completed with 200
    std::uint64_t errors = 0;    ///< completed with another status
    phase_cost cost;             ///< over the send loop only
    /// Paced only: the most requests released on a tick that found no idle
    /// connection and waited for a response to free one.
    std::uint64_t max_queue = 0;
};

/// A paced load: `rate` requests a second fall due; on every `tick` those due
/// since the last one go out, one per idle connection, the rest as responses
/// free connections. `rate` is what is asked for: a server slower than it
/// shows as a growing `max_queue` and a lower measured rate.
struct paced_load {
    double rate = 1000;
    std::chrono::milliseconds tick{10};
    int conns = 64;
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

/// As `run_floor`, paced: requests stop falling due after `seconds`, and the
/// measurement ends when those due have completed. Uses the items of
/// connections 0..load.conns-1 (`prepare_floor` with `load.conns`).
floor_result run_paced_floor(const harness::server_address& server, const paced_load& load,
                             double seconds);

}  // namespace dynalock::bench
