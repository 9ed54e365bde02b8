#pragma once

// Objects a thread keeps for reuse: what one request is done with, the next
// takes, keeping its heap room. Heartbeats come in bursts of dozens per tick,
// more than glibc's per-thread cache holds per size, so each fresh object was
// a slow malloc and each release a slow free.

#include <cstddef>
#include <new>
#include <optional>
#include <utility>
#include <vector>

namespace dynalock::detail {

/// Up to `Kept` spare `T` per thread, per `Tag` (types kept for different
/// purposes do not share). Safe to use while the thread exits: once its list is
/// destroyed, `take` finds nothing and `give` lets the object go.
template <class Tag, class T, std::size_t Kept>
class thread_spares {
public:
    /// A spare, if this thread has one.
    static std::optional<T> take() noexcept {
        list* spares = current();
        if (spares == nullptr || spares->items.empty()) {
            return std::nullopt;
        }
        std::optional<T> out(std::move(spares->items.back()));
        spares->items.pop_back();
        return out;
    }

    /// Keeps `spare` for a later `take` on this thread, unless enough are kept.
    static void give(T&& spare) noexcept {
        list* spares = current();
        if (spares == nullptr || spares->items.size() >= Kept) {
            return;
        }
        try {
            spares->items.reserve(Kept);  // once: later pushes cannot throw
        } catch (const std::bad_alloc&) {
            return;
        }
        spares->items.push_back(std::move(spare));
    }

private:
    struct list {
        std::vector<T> items;
        ~list() { gone = true; }
    };

    static list* current() noexcept {
        if (gone) {
            return nullptr;
        }
        thread_local list spares;
        return &spares;
    }

    // Trivially destructible, so it can still be read after `list` is destroyed.
    static inline thread_local bool gone = false;
};

}  // namespace dynalock::detail
