#include "groups/leader_election_tracker.hpp"

namespace dynalock::groups {

const std::optional<leader_info>& leader_tracker::on_read(lock::clock::time_point now,
                                                          const std::optional<lock_record>& item) {
    if (!item || item->released || item->malformed) {
        seen_.reset();
        leader_.reset();
        return leader_;
    }
    if (!seen_ || seen_->record_version != item->record_version) {
        seen_ = lock::observation{item->record_version, item->lease, now};
    }
    // A lock held under a session stores no lease of its own (zero): its
    // holder leads for as long as the item says so.
    const bool stood_still =
        item->lease > lock::milliseconds::zero() && now - seen_->since >= seen_->lease;
    if (stood_still) {
        leader_.reset();
    } else {
        leader_ = leader_info{item->owner, item->fence.value_or(0)};
    }
    return leader_;
}

}  // namespace dynalock::groups
