#pragma once

// Memory kept for the handler of an operation's pending step. Asio allocates
// the state of every asynchronous operation through its handler's associated
// allocator, and by default from a per-thread cache of a couple of blocks:
// with dozens of requests out at once, most of those were mallocs. An
// operation with one step pending at a time keeps one block here, reused from
// step to step and, since such operations are themselves reused, from request
// to request.

#include <cstddef>
#include <new>

namespace dynalock::detail {

/// One block for one pending step at a time: a second allocation while the
/// block is taken, or one larger than it when it is not, goes to the heap
/// (the block then grows to fit, so it settles at the largest step's size).
class handler_block {
public:
    handler_block() = default;
    handler_block(const handler_block&) = delete;
    handler_block& operator=(const handler_block&) = delete;
    ~handler_block() { ::operator delete(block_); }

    void* allocate(std::size_t size) {
        if (taken_) {
            return ::operator new(size);
        }
        if (size > size_) {
            void* larger = ::operator new(size);
            ::operator delete(block_);
            block_ = larger;
            size_ = size;
        }
        taken_ = true;
        return block_;
    }

    void deallocate(void* p) noexcept {
        if (p == block_) {
            taken_ = false;
        } else {
            ::operator delete(p);
        }
    }

private:
    void* block_ = nullptr;
    std::size_t size_ = 0;
    bool taken_ = false;
};

/// The allocator a handler associates to draw from a `handler_block`.
template <class T>
class handler_block_allocator {
public:
    using value_type = T;

    explicit handler_block_allocator(handler_block& block) noexcept : block_(&block) {}
    template <class U>
    handler_block_allocator(const handler_block_allocator<U>& other) noexcept
        : block_(other.block_) {}

    T* allocate(std::size_t n) {
        static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__);
        return static_cast<T*>(block_->allocate(n * sizeof(T)));
    }
    void deallocate(T* p, std::size_t) noexcept { block_->deallocate(p); }

    template <class U>
    bool operator==(const handler_block_allocator<U>& other) const noexcept {
        return block_ == other.block_;
    }

private:
    template <class>
    friend class handler_block_allocator;
    handler_block* block_;
};

}  // namespace dynalock::detail
