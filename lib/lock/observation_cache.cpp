#include "lock/observation_cache.hpp"

namespace dynalock::lock {

std::optional<observation> observation_cache::find(const lock_key& key) const {
    auto it = index_.find(key);
    return it == index_.end() ? std::nullopt : std::optional(it->second->second);
}

void observation_cache::forget(const lock_key& key) {
    if (auto it = index_.find(key); it != index_.end()) {
        entries_.erase(it->second);
        index_.erase(it);
    }
}

void observation_cache::remember(const lock_key& key, const observation& o) {
    forget(key);
    if (capacity_ == 0) {
        return;
    }
    entries_.emplace_back(key, o);
    index_[key] = std::prev(entries_.end());
    if (entries_.size() > capacity_) {
        index_.erase(entries_.front().first);
        entries_.pop_front();
    }
}

}  // namespace dynalock::lock
