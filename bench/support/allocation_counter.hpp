#pragma once

#include <cstdint>

namespace dynalock::bench {

/// Calls to the global `operator new` (and so `new[]`, and the library's
/// containers) and to `aligned_alloc` (Asio's coroutine frames and handlers,
/// when its per-thread recycling has none to give) made so far by the calling
/// thread: the benches run the client on their main thread.
/// Linking a bench that calls this replaces the global `operator new` with one
/// that counts and then takes the memory from `malloc`, and `aligned_alloc`
/// with one that counts and calls the C library's: the count is what the
/// allocator is asked for, whatever it recycles.
std::uint64_t allocations() noexcept;

}  // namespace dynalock::bench
