#include "allocation_counter.hpp"

#include <dlfcn.h>

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

// Asio takes the memory of the coroutine frames and handlers it cannot recycle
// from aligned_alloc (boost/asio/detail/memory.hpp), not from operator new;
// counted too, so that the count is every allocation the client asks for.
extern "C" void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
    using aligned_alloc_fn = void* (*)(std::size_t, std::size_t);
    static const auto libc_aligned_alloc =
        reinterpret_cast<aligned_alloc_fn>(dlsym(RTLD_NEXT, "aligned_alloc"));
    ++allocation_count;
    return libc_aligned_alloc(alignment, size);
}
