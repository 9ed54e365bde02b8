#include "allocation_counter.hpp"

#include <cstdlib>
#include <new>

namespace {

// Per thread and not atomic: the count must not add a locked instruction to
// every allocation of the code it measures.
thread_local std::uint64_t allocation_count = 0;

}  // namespace

namespace dynalock::bench {

std::uint64_t allocations() noexcept {
    return allocation_count;
}

}  // namespace dynalock::bench

// The standard library's other forms (array, nothrow) call this one; the
// aligned forms are left alone since they come with their own deletes.
void* operator new(std::size_t size) {
    ++allocation_count;
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
