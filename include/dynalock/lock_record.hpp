#pragma once

/// \file
/// Lock keys and lock items as stored.

#include <dynalock/attribute_value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dynalock {

/// The name of one lock: the partition key value and, for tables with a sort
/// key, the sort key value. Converts from a string, so that
/// `locks.async_acquire("job")` names a lock of a table without sort key.
class lock_key {
public:
    /// An empty partition key, no sort key: not a usable key by itself.
    lock_key() = default;
    /// A key of a table without sort key (implicit, as the next two).
    lock_key(std::string partition) : partition(std::move(partition)) {}
    /// A key of a table without sort key.
    lock_key(const char* partition) : partition(partition) {}
    /// A key of a table without sort key.
    lock_key(std::string_view partition) : partition(partition) {}
    /// A key with both values; `sort` must be set for a table with a sort
    /// key and unset for one without.
    lock_key(std::string partition, std::optional<std::string> sort)
        : partition(std::move(partition)), sort(std::move(sort)) {}

    /// The partition key value (an S attribute): 1 to 2048 bytes, else the
    /// lock client refuses the key with errc::invalid_argument.
    std::string partition{};
    /// The sort key value (an S attribute), for tables with a sort key: 1 to
    /// 1024 bytes.
    std::optional<std::string> sort{};

    /// Same partition and sort values.
    friend bool operator==(const lock_key&, const lock_key&) = default;
    /// Ordered by partition, then sort (unset first).
    friend auto operator<=>(const lock_key&, const lock_key&) = default;
};

/// The longest lease a lock item may carry, written or read: 7 days. A lease
/// is how long a crashed holder keeps everyone else out, so anything longer
/// is almost surely a unit mistake; and every local deadline (steady clock
/// plus lease, in nanoseconds) stays far from overflowing.
inline constexpr std::chrono::milliseconds max_lease{std::chrono::hours(24 * 7)};

/// The session a lock is held under: the key of the session's item and the
/// session's epoch (its fence) when the lock was granted. The lock is held
/// while that session is, at that epoch (docs/sessions.md).
struct session_ref {
    lock_key key{};           ///< the key of the session's item
    std::uint64_t epoch = 0;  ///< the fence of the session's item when the lock was granted

    /// Same key and epoch.
    friend bool operator==(const session_ref&, const session_ref&) = default;
    /// By key, then epoch: sessions can key ordered containers.
    friend auto operator<=>(const session_ref&, const session_ref&) = default;
};

/// One lock item as stored (docs/design.md; attribute names compatible with the
/// AWS Java lock client, so mixed fleets can share a table).
struct lock_record {
    lock_key key{};       ///< the item's key attributes
    std::string owner{};  ///< `ownerName`
    /// `leaseDuration`, a decimal string of ms; zero for a lock held under a
    /// session (its `leaseDuration` is then "session": the session's lease
    /// counts).
    std::chrono::milliseconds lease{};
    std::string record_version{};  ///< `recordVersionNumber`
    /// `fence`: +1 on every grant. Absent on rows written by clients that do
    /// not mint fences (the Java client); the next grant by us makes it 1.
    std::optional<std::uint64_t> fence{};
    std::optional<bytes> data{};  ///< `data`
    bool released = false;        ///< `isReleased` = "1"
    /// Held under a session (`sessionKey`, `sessionSortKey`, `sessionEpoch`).
    std::optional<session_ref> session{};
    /// The item of a session (`isSession` = "1"): a lease that keeps the
    /// locks held under it.
    bool is_session = false;
    /// Every other attribute of the item (the user's own, the TTL attribute).
    attribute_map other{};
    /// Set when the item is not a well-formed lock item (a lock attribute
    /// missing, of another type or out of range, as when written by another
    /// tool): what is wrong, naming each such attribute, its value (escaped,
    /// bounded) and what was expected. The key and the attributes that could
    /// be read are filled; the others stay in `other` as they were.
    std::optional<std::string> malformed{};

    /// Every field equal.
    friend bool operator==(const lock_record&, const lock_record&) = default;
};

}  // namespace dynalock
