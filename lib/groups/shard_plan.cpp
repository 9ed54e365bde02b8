#include "groups/shard_plan.hpp"

#include <algorithm>
#include <functional>
#include <set>

namespace dynalock::groups {

shard_plan plan_shards(const shard_view& view) {
    shard_plan plan;
    const std::set<std::string> live(view.members.begin(), view.members.end());
    if (view.shards.empty() || !live.contains(view.self)) {
        return plan;
    }
    const std::size_t share_floor = view.shards.size() / live.size();
    const std::size_t share_ceil = share_floor + (view.shards.size() % live.size() != 0 ? 1 : 0);

    std::map<std::string, std::size_t> count;
    std::map<std::string, std::vector<std::string>> unrequested;  // what each holder could give
    std::vector<std::string> unclaimed;
    for (const auto& m : live) {
        count[m] = 0;
    }
    for (const auto& shard : view.shards) {
        const auto h = view.holder.find(shard);
        const bool held = h != view.holder.end() && live.contains(h->second);
        if (auto r = view.requested_by.find(shard);
            r != view.requested_by.end() && live.contains(r->second)) {
            ++count[r->second];
            if (r->second == view.self && !held) {
                plan.take.push_back(shard);  // handed to us: its holder let it go
            }
            continue;
        }
        if (held) {
            ++count[h->second];
            unrequested[h->second].push_back(shard);
            continue;
        }
        unclaimed.push_back(shard);
    }

    std::size_t mine = count[view.self];
    std::size_t others_short = 0;
    for (const auto& [member, n] : count) {
        if (member != view.self && n < share_floor) {
            others_short += share_floor - n;
        }
    }
    std::size_t to_take = mine < share_floor ? std::min(share_floor - mine, unclaimed.size()) : 0;
    if (mine + to_take < share_ceil && unclaimed.size() > to_take + others_short) {
        to_take +=
            std::min(share_ceil - (mine + to_take), unclaimed.size() - to_take - others_short);
    }
    // Members start at different places among the unclaimed shards, so that
    // workers joining together do not all race for the same ones.
    const std::size_t start =
        unclaimed.empty() ? 0 : std::hash<std::string>{}(view.self) % unclaimed.size();
    for (std::size_t i = 0; i < to_take; ++i) {
        plan.take.push_back(unclaimed[(start + i) % unclaimed.size()]);
    }
    mine += to_take;

    // Above ⌊S/W⌋ only the least loaded member (the first by name among
    // equals) asks: members asking together would otherwise take the same
    // donor below its share, and it would ask back.
    bool least_loaded = true;
    for (const auto& [member, n] : count) {
        if (member != view.self && (n < mine || (n == mine && member < view.self))) {
            least_loaded = false;
        }
    }
    while (plan.request.size() < view.max_moves) {
        std::string donor;
        std::size_t most = 0;
        for (const auto& [member, n] : count) {
            if (member != view.self && n > most && !unrequested[member].empty()) {
                donor = member;
                most = n;
            }
        }
        const bool fair = (mine < share_floor && most > share_floor) ||
                          (least_loaded && mine < share_ceil && most > share_ceil);
        if (donor.empty() || !fair) {
            break;
        }
        plan.request.push_back(unrequested[donor].back());
        unrequested[donor].pop_back();
        --count[donor];
        ++mine;
    }
    return plan;
}

}  // namespace dynalock::groups
