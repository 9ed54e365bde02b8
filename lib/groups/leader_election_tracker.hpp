#pragma once

// Who leads, from the reads of an observer, sans-io: the shell reads the
// leadership's item every retry period and tells the tracker what it saw and
// when the read returned. A crashed leader leaves its item held; the tracker
// counts it gone once the item's record version has stood still for the
// lease stored in it, timed from the read that first showed that
// version — the rule a contender uses before taking over (acquire_machine),
// so an observer reports no leader no earlier than a contender could take
// over.

#include "lock/acquire_machine.hpp"

#include <dynalock/leader_election.hpp>
#include <dynalock/lock_record.hpp>

#include <optional>

namespace dynalock::groups {

class leader_tracker {
public:
    /// What a read that returned at `now` showed of the item (absent when
    /// there is none); returns the leader as now seen.
    const std::optional<leader_info>& on_read(lock::clock::time_point now,
                                              const std::optional<lock_record>& item);
    /// The leader as last seen; nullopt before the first read.
    const std::optional<leader_info>& leader() const noexcept { return leader_; }

private:
    std::optional<lock::observation> seen_;
    std::optional<leader_info> leader_;
};

}  // namespace dynalock::groups
