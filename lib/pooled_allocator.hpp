#pragma once

// An allocator for the handlers of the heartbeat path whose memory cannot
// live in an operation of ours: those type-erased into an
// any_completion_handler at a virtual or library boundary (the store's and
// the client's). Asio's default keeps a couple of blocks per thread, and a
// tick's burst of heartbeats has dozens of such handlers alive at once: most
// were a malloc and a free. This keeps freed blocks per thread, by size.

#include "thread_spares.hpp"

#include <array>
#include <cstddef>
#include <new>
#include <utility>

namespace dynalock::detail {

/// Sizes up to `pooled_max_bytes`, in classes of `pooled_class_bytes`, are
/// kept; larger ones go to the heap.
inline constexpr std::size_t pooled_class_bytes = 64;
inline constexpr std::size_t pooled_max_bytes = 512;

/// A heap block kept for reuse: freed if the thread's list is full or gone.
class pooled_block {
public:
    explicit pooled_block(void* p) noexcept : p_(p) {}
    pooled_block(pooled_block&& other) noexcept : p_(std::exchange(other.p_, nullptr)) {}
    pooled_block& operator=(pooled_block&&) = delete;
    ~pooled_block() { ::operator delete(p_); }
    void* release() noexcept { return std::exchange(p_, nullptr); }

private:
    void* p_;
};

template <std::size_t Class>
struct pooled_class_tag {};

template <std::size_t Class>
using pooled_spares = thread_spares<pooled_class_tag<Class>, pooled_block, 64>;

template <std::size_t Class>
void* pooled_take() {
    if (auto spare = pooled_spares<Class>::take()) {
        return spare->release();
    }
    return ::operator new((Class + 1) * pooled_class_bytes);
}

template <std::size_t Class>
void pooled_give(void* p) noexcept {
    pooled_spares<Class>::give(pooled_block(p));
}

template <std::size_t... Class>
constexpr auto pooled_table(std::index_sequence<Class...>) {
    struct entry {
        void* (*take)();
        void (*give)(void*) noexcept;
    };
    return std::array<entry, sizeof...(Class)>{entry{&pooled_take<Class>, &pooled_give<Class>}...};
}

inline constexpr auto pooled_classes =
    pooled_table(std::make_index_sequence<pooled_max_bytes / pooled_class_bytes>());

inline void* pooled_allocate(std::size_t bytes) {
    if (bytes == 0 || bytes > pooled_max_bytes) {
        return ::operator new(bytes);
    }
    return pooled_classes[(bytes - 1) / pooled_class_bytes].take();
}

inline void pooled_deallocate(void* p, std::size_t bytes) noexcept {
    if (bytes == 0 || bytes > pooled_max_bytes) {
        ::operator delete(p);
        return;
    }
    pooled_classes[(bytes - 1) / pooled_class_bytes].give(p);
}

/// Stateless: any instance frees what another allocated, on any thread.
template <class T>
class pooled_allocator {
public:
    using value_type = T;

    pooled_allocator() noexcept = default;
    template <class U>
    pooled_allocator(const pooled_allocator<U>&) noexcept {}

    T* allocate(std::size_t n) {
        static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
        return static_cast<T*>(pooled_allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t n) noexcept { pooled_deallocate(p, n * sizeof(T)); }

    template <class U>
    bool operator==(const pooled_allocator<U>&) const noexcept {
        return true;
    }
};

}  // namespace dynalock::detail
