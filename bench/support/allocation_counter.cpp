#include "allocation_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {

// Relaxed: a count read between measured phases, not a synchronisation point.
std::atomic<std::uint64_t> allocation_count{0};

}  // namespace

namespace dynalock::bench {

std::uint64_t allocations() noexcept {
    return allocation_count.load(std::memory_order_relaxed);
}

}  // namespace dynalock::bench

// The standard library's other forms (array, nothrow) call this one; the
// aligned forms are left alone since they come with their own deletes.
void* operator new(std::size_t size) {
    allocation_count.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(size == 0 ? 1 : size))
        return p;
    throw std::bad_alloc();
}

void operator delete(void* p) noexcept {
    std::free(p);
}

void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
