#pragma once

/// \file
/// What a lock client is doing and has done.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace dynalock {

/// Counts of latencies in buckets a quarter of a power of two wide, so that a
/// quantile read from it is within 25 % of the true one at any scale, in a
/// fixed 1 KiB (and their sum).
struct latency_histogram {
    /// Four buckets per power of two from 4 µs on (0 to 3 µs one each); the
    /// last one holds everything from 7 · 2^30 µs (about 2 hours) up.
    static constexpr std::size_t buckets = 128;
    /// Latencies recorded per bucket.
    std::array<std::uint64_t, buckets> counts{};
    /// Of every latency recorded (negative ones as zero), for a mean and
    /// Prometheus's `_sum`.
    std::chrono::microseconds sum{};

    /// Counts one latency (a negative one as zero).
    void record(std::chrono::microseconds latency) noexcept;
    /// Latencies recorded so far.
    std::uint64_t total() const noexcept;
    /// The upper edge of the bucket holding the `q` quantile (0 < q ≤ 1);
    /// zero when nothing was recorded.
    std::chrono::microseconds quantile(double q) const noexcept;
};

/// What a lock_client is doing and has done, from `lock_client::stats()`.
/// Counters start at zero with the client and only grow.
struct lock_client_stats {
    /// Locks held now (under a session or not; sessions themselves not counted).
    std::size_t held = 0;
    /// Sessions open now.
    std::size_t sessions = 0;
    /// Requests of leases (heartbeats, releases, the reads that settle an
    /// ambiguous write) and of acquires in flight now, under the bound
    /// in_flight_limit.
    std::size_t in_flight = 0;
    /// The bound on requests in flight now: from 1 to
    /// lock_client_options::max_in_flight. It halves when the store
    /// throttles and grows back by one with each success.
    std::size_t in_flight_limit = 0;
    /// Locks granted (sessions not counted: see sessions_opened).
    std::uint64_t acquired = 0;
    /// Leases of locks that ended by release (async_release, bound work done,
    /// close, their session's release).
    std::uint64_t released = 0;
    /// Leases of locks that ended loss_reason::stolen: the item showed
    /// another owner or version.
    std::uint64_t lost_stolen = 0;
    /// Leases of locks that ended loss_reason::expired: no heartbeat
    /// succeeded before the local deadline.
    std::uint64_t lost_expired = 0;
    /// Sessions opened (default ones included).
    std::uint64_t sessions_opened = 0;
    /// Sessions that ended lost (stolen or expired) rather than closed.
    std::uint64_t sessions_lost = 0;
    /// Sessions of other holders this client ended as a contender: its write
    /// ending a session that stood still for its lease applied (an ambiguous
    /// one that did is not counted).
    std::uint64_t session_kills = 0;
    /// Heartbeat requests sent, of locks and of sessions.
    std::uint64_t heartbeats_sent = 0;
    /// Heartbeat requests that failed: an error, an ambiguous outcome (then
    /// settled by a read) or a failed condition.
    std::uint64_t heartbeats_failed = 0;
    /// Lease and acquire requests that ended throttled after the store's own
    /// retries.
    std::uint64_t throttled = 0;
    /// Requests this client made of its store: reads (a listing counts a
    /// page each) and writes, of every kind (acquires, heartbeats, releases,
    /// the reads of waits and of ambiguous outcomes). On DynamoDB each is
    /// one request, before the store's own retries.
    std::uint64_t store_reads = 0;
    /// Writes this client asked of its store (see store_reads).
    std::uint64_t store_writes = 0;
    /// The longest time any lease went between two renewals (its grant counts
    /// as one): how close to its lease a heartbeat came.
    std::chrono::microseconds max_heartbeat_gap{};
    /// From sending a heartbeat to learning it renewed the lease.
    latency_histogram heartbeat_latency{};
};

}  // namespace dynalock
