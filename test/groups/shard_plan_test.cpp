// The balancing decision of a shard group round, on views built by hand.

#include "groups/shard_plan.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

namespace {

using dynalock::groups::plan_shards;
using dynalock::groups::shard_plan;
using dynalock::groups::shard_view;

std::vector<std::string> names(std::size_t n) {
    std::vector<std::string> v;
    for (std::size_t i = 0; i < n; ++i) {
        v.push_back(std::to_string(i));
    }
    return v;
}

// Members `members` hold counts[i] shards each, in order of the shard names.
shard_view view_of(const std::vector<std::string>& members, const std::vector<std::size_t>& counts,
                   std::size_t shards, std::size_t max_moves = 8) {
    shard_view v{.self = members.front(),
                 .members = members,
                 .shards = names(shards),
                 .max_moves = max_moves};
    std::size_t next = 0;
    for (std::size_t m = 0; m < counts.size(); ++m) {
        for (std::size_t i = 0; i < counts[m]; ++i) {
            v.holder[std::to_string(next++)] = members[m];
        }
    }
    return v;
}

TEST(ShardPlan, AloneTakesEverything) {
    const shard_plan p = plan_shards(view_of({"a"}, {0}, 10));
    EXPECT_EQ(p.take.size(), 10u);
    EXPECT_TRUE(p.request.empty());
}

TEST(ShardPlan, BalancedMembersDoNothing) {
    // 64 over 4, and 10 over 4 (2 or 3 each): within the shares nothing moves,
    // whoever plans.
    for (const auto& [counts, shards] :
         std::vector<std::pair<std::vector<std::size_t>, std::size_t>>{
             {{16, 16, 16, 16}, 64}, {{3, 3, 2, 2}, 10}, {{2, 3, 2, 3}, 10}, {{2, 2, 3, 3}, 10}}) {
        std::vector<std::string> members{"a", "b", "c", "d"};
        for (std::size_t rotate = 0; rotate < 4; ++rotate) {
            shard_view v = view_of(members, counts, shards);
            v.self = members[rotate];
            const shard_plan p = plan_shards(v);
            EXPECT_TRUE(p.take.empty()) << "self " << v.self;
            EXPECT_TRUE(p.request.empty()) << "self " << v.self;
        }
    }
}

TEST(ShardPlan, JoinerAsksTheMostLoadedSeveralPerRound) {
    // 64 shards, a joins b, c, d holding 22, 21, 21: a's share is 16.
    const shard_plan p = plan_shards(view_of({"a", "b", "c", "d"}, {0, 22, 21, 21}, 64, 8));
    EXPECT_TRUE(p.take.empty());
    ASSERT_EQ(p.request.size(), 8u);  // bounded by max_moves
    shard_view v = view_of({"a", "b", "c", "d"}, {0, 22, 21, 21}, 64, 8);
    std::map<std::string, int> left{{"b", 22}, {"c", 21}, {"d", 21}};
    for (const auto& s : p.request) {
        --left[v.holder.at(s)];
    }
    // Taken from the most loaded first: the donors end within one of each other.
    const auto [lo, hi] = std::minmax({left["b"], left["c"], left["d"]});
    EXPECT_LE(hi - lo, 1);
    EXPECT_EQ(left["b"] + left["c"] + left["d"], 64 - 8);
}

TEST(ShardPlan, RequestsCountForTheRequester) {
    // a asked for 16 already: it asks for nothing more, and b (below its share
    // of 16 once a's requests are counted for a) does not ask for them again.
    shard_view v = view_of({"a", "b", "c", "d"}, {0, 22, 21, 21}, 64, 8);
    std::size_t n = 0;
    for (auto& [shard, holder] : v.holder) {
        if (n < 16 && holder != "a") {
            v.requested_by[shard] = "a";
            ++n;
        }
    }
    EXPECT_TRUE(plan_shards(v).request.empty());
    EXPECT_TRUE(plan_shards(v).take.empty());
}

TEST(ShardPlan, RequestedShardReleasedByItsHolderIsTaken) {
    shard_view v = view_of({"a", "b"}, {0, 2}, 2);
    v.requested_by["0"] = "a";
    v.holder.erase("0");  // b let it go
    const shard_plan p = plan_shards(v);
    EXPECT_EQ(p.take, std::vector<std::string>{"0"});
    EXPECT_TRUE(p.request.empty());
}

TEST(ShardPlan, RequestsOfMembersNotLiveAreIgnored) {
    shard_view v = view_of({"a", "b"}, {0, 0}, 4);
    v.requested_by["0"] = "gone";
    const shard_plan p = plan_shards(v);
    EXPECT_EQ(p.take.size(), 2u);  // a's share of 4 over 2, "0" among the unclaimed
}

TEST(ShardPlan, TakesFreeShardsUpToTheFloorLeavingTheOthersTheirShortfall) {
    // 10 shards over 4: floor 2, ceil 3. b, c, d hold nothing yet and need
    // 6: a takes 3, leaving them 7.
    EXPECT_EQ(plan_shards(view_of({"a", "b", "c", "d"}, {0, 0, 0, 0}, 10)).take.size(), 3u);
    // 10 over 4, b, c, d at 1 each need 3 more: of the 7 free, a takes 2,
    // and a third, which leaves them 4.
    EXPECT_EQ(plan_shards(view_of({"a", "b", "c", "d"}, {0, 1, 1, 1}, 10)).take.size(), 3u);
    // 9 over 4 (2 or 3), b, c, d at 1 each: 6 free, a takes 3 and leaves
    // the others their 3; 8 over 4 (2 each): a takes 2.
    EXPECT_EQ(plan_shards(view_of({"a", "b", "c", "d"}, {0, 1, 1, 1}, 9)).take.size(), 3u);
    EXPECT_EQ(plan_shards(view_of({"a", "b", "c", "d"}, {0, 1, 1, 1}, 8)).take.size(), 2u);
    // 7 over 4 (1 or 2), b, c, d at 0 need 3: a takes 2, leaving them 5.
    EXPECT_EQ(plan_shards(view_of({"a", "b", "c", "d"}, {0, 0, 0, 0}, 7)).take.size(), 2u);
    // 5 over 4 (1 or 2), b, c, d at 0 need 3 of the 5: a takes 2, which
    // leaves them exactly that.
    EXPECT_EQ(plan_shards(view_of({"a", "b", "c", "d"}, {0, 0, 0, 0}, 5)).take.size(), 2u);
}

TEST(ShardPlan, FailoverTakesEveryUnclaimedShardOfTheShareAtOnce) {
    // d ended: its 16 shards have no live holder. a, b, c each take up to 22
    // (64 over 3: 21 or 22), unbounded by max_moves.
    shard_view v = view_of({"a", "b", "c"}, {16, 16, 16}, 64, 1);
    const shard_plan p = plan_shards(v);
    // 16 unclaimed, b and c need 5 each to their floor of 21: a takes 5,
    // and a sixth to its ceil of 22, which still leaves them 10.
    EXPECT_EQ(p.take.size(), 6u);
    EXPECT_TRUE(p.request.empty());
}

TEST(ShardPlan, OnlyTheLeastLoadedAsksAboveTheFloor) {
    // 10 over 4, b holds 4 (above the ceil of 3): a and c (2 each, at the
    // floor) — only a, first by name among the least loaded, asks.
    std::vector<std::string> members{"a", "b", "c", "d"};
    shard_view v = view_of(members, {2, 4, 2, 2}, 10);
    EXPECT_EQ(plan_shards(v).request.size(), 1u);
    v.self = "c";
    EXPECT_TRUE(plan_shards(v).request.empty());
}

TEST(ShardPlan, MembersStartAtDifferentFreeShards) {
    std::set<std::string> firsts;
    for (std::string self : {"w1", "w2", "w3", "w4", "w5", "w6"}) {
        shard_view v = view_of({self, "x1", "x2", "x3", "x4", "x5"}, {0, 0, 0, 0, 0, 0}, 600);
        firsts.insert(plan_shards(v).take.front());
    }
    EXPECT_GT(firsts.size(), 1u);
}

TEST(ShardPlan, NotAMemberOrNoShardsPlansNothing) {
    shard_view v = view_of({"a"}, {0}, 4);
    v.self = "z";
    EXPECT_TRUE(plan_shards(v).take.empty());
    EXPECT_TRUE(plan_shards(view_of({"a"}, {0}, 0)).take.empty());
}

}  // namespace
