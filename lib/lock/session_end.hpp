#pragma once

// When a session has ended for the locks held under it: the one rule that
// contenders (acquire_machine), async_observe_session and the CLI's session
// states apply. Pure and header-only, on public types only, so that the CLI,
// which uses the public API, can include it too (dynalock_session_end_dep).

#include <dynalock/lock_record.hpp>

#include <cstdint>
#include <optional>

namespace dynalock::lock {

/// Whether a session has ended for the locks granted under it at `epoch`,
/// from its item as read: absent, released, or at another epoch. Nobody
/// believes such a lock any more. Whatever else is wrong with the item (it is
/// malformed) does not keep an ended session alive, nor end a live one.
inline bool session_ended(const std::optional<lock_record>& item, std::uint64_t epoch) noexcept {
    return !item || item->released || item->fence.value_or(0) != epoch;
}

}  // namespace dynalock::lock
