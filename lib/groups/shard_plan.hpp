#pragma once

// The balancing decision of a shard group round, as pure code: from what the
// round read, which shards to take and which to ask other members for.

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace dynalock::groups {

struct shard_view {
    std::string self{};
    /// Live members, this one included.
    std::vector<std::string> members{};
    /// Every shard of the group.
    std::vector<std::string> shards{};
    /// Shard → the live member holding it. Shards absent here are free,
    /// released, or held under a session that is not a live member's.
    std::map<std::string, std::string> holder{};
    /// Shard → the live member that asked for it: the shard counts as that
    /// member's, and nobody else takes it while the request stands.
    std::map<std::string, std::string> requested_by{};
    std::size_t max_moves = 1;
};

struct shard_plan {
    /// Shards with no live holder and no request: try to take them.
    std::vector<std::string> take{};
    /// Shards of other members to ask for (each to its holder).
    std::vector<std::string> request{};
};

/// The fair share of `self` is ⌊S/W⌋ or ⌈S/W⌉. It takes unclaimed shards up
/// to ⌊S/W⌋, and up to ⌈S/W⌉ only with what the other members' shortfalls
/// leave; it asks for shards of the most loaded members while it is below
/// ⌊S/W⌋ and they are above it, or while it is below ⌈S/W⌉ and they are
/// above that: so when every member is within the two, nothing moves.
shard_plan plan_shards(const shard_view& view);

}  // namespace dynalock::groups
