#pragma once

// What acquires of one client saw of held locks (a record version and since
// when), kept so that a later try_acquire can take a lock already known to be
// past its lease without waiting for it again. Bounded: the least recently
// used entry goes first. Sans-io.

#include "lock/acquire_machine.hpp"

#include <dynalock/lock_record.hpp>

#include <cstddef>
#include <list>
#include <map>
#include <optional>
#include <utility>

namespace dynalock::lock {

class observation_cache {
public:
    explicit observation_cache(std::size_t capacity) : capacity_(capacity) {}

    std::optional<observation> find(const lock_key& key) const;
    /// Replaces what was known of `key`, as the most recently used entry.
    void remember(const lock_key& key, const observation& o);
    void forget(const lock_key& key);
    std::size_t size() const noexcept { return index_.size(); }

private:
    using entries = std::list<std::pair<lock_key, observation>>;

    std::size_t capacity_;
    entries entries_;  // least recently used first
    std::map<lock_key, entries::iterator> index_;
};

}  // namespace dynalock::lock
