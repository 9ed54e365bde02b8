#pragma once

#include <chrono>
#include <cstdint>

namespace dynalock::bench {

/// What one measured phase cost: wall time and this process's CPU time.
struct phase_cost {
    double wall_seconds = 0;
    /// User + system CPU of this process only (RUSAGE_SELF): a server started as
    /// our child is not counted, whatever it burns.
    double cpu_us = 0;
    /// The part of `cpu_us` spent in the kernel (system calls, wake-ups).
    double system_cpu_us = 0;
    /// Times this process blocked waiting (voluntary context switches): each
    /// wake-up from epoll costs the kernel's scheduler, so fewer per request is cheaper.
    std::uint64_t sleeps = 0;
};

/// Starts measuring on construction; `elapsed()` reports the cost so far.
class phase_meter {
public:
    phase_meter();
    phase_cost elapsed() const;

private:
    std::chrono::steady_clock::time_point wall_start_;
    std::int64_t cpu_start_us_ = 0;
    std::int64_t system_cpu_start_us_ = 0;
    long sleeps_start_ = 0;
};

/// This process's resident set now (/proc/self/statm), in bytes.
std::uint64_t resident_bytes();
/// Bytes of the heap in use now (glibc's mallinfo2): unlike the resident
/// set, not counting what was freed and kept for reuse.
std::uint64_t heap_bytes_in_use();

}  // namespace dynalock::bench
