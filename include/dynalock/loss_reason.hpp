#pragma once

/// \file
/// Why a lease ended.

#include <string_view>

namespace dynalock {

/// Why a lease ended.
enum class loss_reason {
    none,           ///< it has not ended
    stolen,         ///< the item shows another owner or version: someone took the lock
    expired,        ///< no heartbeat succeeded before the local deadline
    released,       ///< released by its holder (async_release or the end of bound work)
    client_closed,  ///< the lock client was closed (the lease was released on the way)
};

/// The enumerator's name ("none", "stolen", "expired", "released",
/// "client_closed"), for logs; "unknown" for a value out of range.
constexpr std::string_view to_string(loss_reason r) noexcept {
    switch (r) {
        case loss_reason::none:
            return "none";
        case loss_reason::stolen:
            return "stolen";
        case loss_reason::expired:
            return "expired";
        case loss_reason::released:
            return "released";
        case loss_reason::client_closed:
            return "client_closed";
    }
    return "unknown";
}

}  // namespace dynalock
