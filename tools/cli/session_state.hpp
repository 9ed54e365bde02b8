#pragma once

// What a lock held under a session is, as one read of the session's item
// finds it: a pure function, unit-tested.

#include <dynalock/lock_record.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace dynalock::cli {

/// By the rule contenders apply (lock::session_ended, docs/design.md,
/// docs/cli.md): a lock held under a session at `epoch` is held while the
/// session's item is there, not released and at that epoch. Whether a held
/// session's lease has run out no single read can tell: that takes watching
/// its version stand still for a lease, on the reader's own clock.
enum class session_state {
    held,
    ended,      ///< the item is released, or at another epoch: the lock is free
    gone,       ///< no item: the lock is free
    malformed,  ///< an item at that epoch, not released, that is no lock item
};

std::string_view to_string(session_state state) noexcept;

/// `item`: the session's item as read, absent when there is none.
session_state state_of(const std::optional<lock_record>& item, std::uint64_t epoch) noexcept;

}  // namespace dynalock::cli
