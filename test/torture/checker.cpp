#include "checker.hpp"

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>
#include <queue>
#include <set>
#include <stdexcept>

namespace dynalock::torture {
namespace {

// Keys and owner names are ours (`k<n>`, `w<n>-<pid>`): no commas, no spaces.
std::vector<std::string_view> split(std::string_view line) {
    std::vector<std::string_view> fields;
    for (;;) {
        const auto comma = line.find(',');
        fields.push_back(line.substr(0, comma));
        if (comma == std::string_view::npos)
            return fields;
        line.remove_prefix(comma + 1);
    }
}

template <class Int>
bool parse_int(std::string_view text, Int& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size();
}

// A hold's key and fence: unique within a log (fences of a key only grow).
using hold_id = std::pair<std::string, std::uint64_t>;

// Who the session of a hold is, in a log line: "-" for none (keys are never
// "-": ours are `k<n>` and `…session…/<hex>`).
std::string session_field(const hold& h) {
    return h.session.empty() ? "-" : h.session;
}

bool parse_grant(const std::vector<std::string_view>& f, hold& h) {
    if (f.size() != 8 || f[1].empty() || f[3].empty() || f[7].empty())
        return false;
    h.key = f[1];
    h.owner = f[3];
    h.session = f[7] == "-" ? std::string() : std::string(f[7]);
    return parse_int(f[2], h.fence) && parse_int(f[4], h.valid_from) &&
           parse_int(f[5], h.granted_at) && parse_int(f[6], h.valid_until);
}

bool parse_hold_id(const std::vector<std::string_view>& f, std::size_t size, hold_id& id) {
    if (f.size() != size || f[1].empty())
        return false;
    id.first = f[1];
    return parse_int(f[2], id.second);
}

constexpr write_outcome write_outcomes[] = {write_outcome::accepted, write_outcome::refused,
                                            write_outcome::unknown};

bool parse_zombie(const std::vector<std::string_view>& f, zombie_write& z) {
    if (f.size() != 5 || f[1].empty())
        return false;
    z.key = f[1];
    const auto outcome = std::find_if(std::begin(write_outcomes), std::end(write_outcomes),
                                      [&](write_outcome o) { return to_string(o) == f[4]; });
    if (outcome == std::end(write_outcomes))
        return false;
    z.outcome = *outcome;
    return parse_int(f[2], z.fence) && parse_int(f[3], z.sent_at);
}

bool parse_session(const std::vector<std::string_view>& f) {
    std::uint64_t epoch = 0;
    return f.size() == 3 && !f[1].empty() && parse_int(f[2], epoch);
}

bool parse_counters(const std::vector<std::string_view>& f, worker_counters& c) {
    return f.size() == 6 && parse_int(f[1], c.faults) && parse_int(f[2], c.protected_writes) &&
           parse_int(f[3], c.stale_writes_refused) && parse_int(f[4], c.write_errors) &&
           parse_int(f[5], c.acquire_errors);
}

/// Pairs of intersecting believed intervals, by a sweep over their starts
/// that keeps the ends of the intervals still open.
std::uint64_t count_overlaps(std::vector<const hold*> holds) {
    std::erase_if(holds, [](const hold* h) { return !h->believed(); });
    std::sort(holds.begin(), holds.end(),
              [](const hold* a, const hold* b) { return a->granted_at < b->granted_at; });
    std::priority_queue<std::int64_t, std::vector<std::int64_t>, std::greater<>> open_ends;
    std::uint64_t overlaps = 0;
    for (const hold* h : holds) {
        while (!open_ends.empty() && open_ends.top() <= h->granted_at)
            open_ends.pop();
        overlaps += open_ends.size();
        open_ends.push(h->valid_until);
    }
    return overlaps;
}

std::uint64_t count_fence_regressions(std::vector<const hold*> holds) {
    std::sort(holds.begin(), holds.end(), [](const hold* a, const hold* b) {
        return a->granted_at != b->granted_at ? a->granted_at < b->granted_at : a->fence < b->fence;
    });
    std::set<std::uint64_t> seen;
    std::uint64_t highest = 0;
    std::uint64_t regressions = 0;
    for (const hold* h : holds) {
        if (!seen.insert(h->fence).second || (h->fence < highest && h->believed()))
            ++regressions;
        highest = std::max(highest, h->fence);
    }
    return regressions;
}

std::uint64_t count_takeovers(std::vector<const hold*> holds) {
    std::sort(holds.begin(), holds.end(),
              [](const hold* a, const hold* b) { return a->fence < b->fence; });
    std::uint64_t takeovers = 0;
    for (std::size_t i = 1; i < holds.size(); ++i) {
        const hold& previous = *holds[i - 1];
        if (holds[i]->owner != previous.owner && previous.ended != "released")
            ++takeovers;
    }
    return takeovers;
}

}  // namespace

std::string_view to_string(write_outcome o) noexcept {
    switch (o) {
        case write_outcome::accepted:
            return "accepted";
        case write_outcome::refused:
            return "refused";
        case write_outcome::unknown:
            break;
    }
    return "unknown";
}

std::string format_grant(const hold& h, std::int64_t deadline) {
    return "grant," + h.key + ',' + std::to_string(h.fence) + ',' + h.owner + ',' +
           std::to_string(h.valid_from) + ',' + std::to_string(h.granted_at) + ',' +
           std::to_string(deadline) + ',' + session_field(h) + '\n';
}

std::string format_renewal(const hold& h, std::int64_t deadline) {
    return "renew," + h.key + ',' + std::to_string(h.fence) + ',' + std::to_string(deadline) + '\n';
}

std::string format_first_write(const hold& h) {
    return "wrote," + h.key + ',' + std::to_string(h.fence) + ',' +
           std::to_string(h.first_accepted_at) + '\n';
}

std::string format_stop(const hold& h, std::int64_t at) {
    return "stop," + h.key + ',' + std::to_string(h.fence) + ',' + std::to_string(at) + '\n';
}

std::string format_end(const hold& h) {
    return "end," + h.key + ',' + std::to_string(h.fence) + ',' + std::to_string(h.valid_until) +
           ',' + h.ended + ',' + std::to_string(h.writes_accepted) + ',' +
           std::to_string(h.writes_unknown) + '\n';
}

std::string format_session(std::string_view key, std::uint64_t epoch) {
    return "session," + std::string(key) + ',' + std::to_string(epoch) + '\n';
}

std::string format_session_kills(std::uint64_t kills) {
    return "session_kills," + std::to_string(kills) + '\n';
}

std::string format_line(const zombie_write& z) {
    return "zombie," + z.key + ',' + std::to_string(z.fence) + ',' + std::to_string(z.sent_at) +
           ',' + std::string(to_string(z.outcome)) + '\n';
}

std::string format_line(const worker_counters& c) {
    return "counters," + std::to_string(c.faults) + ',' + std::to_string(c.protected_writes) + ',' +
           std::to_string(c.stale_writes_refused) + ',' + std::to_string(c.write_errors) + ',' +
           std::to_string(c.acquire_errors) + '\n';
}

worker_log parse_log(std::istream& in, std::string_view source) {
    worker_log log;
    std::map<hold_id, hold> open;
    // Holds whose worker stopped acting on them: believed no later.
    std::map<hold_id, std::int64_t> stopped;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const auto fields = split(line);
        hold_id id;
        bool ok = false;
        if (log.counters) {
            ok = false;  // the counters line is the last one
        } else if (fields[0] == "grant") {
            hold h;
            ok = parse_grant(fields, h) && open.try_emplace({h.key, h.fence}, h).second;
        } else if (fields[0] == "renew") {
            std::int64_t deadline = 0;
            ok =
                parse_hold_id(fields, 4, id) && open.contains(id) && parse_int(fields[3], deadline);
            if (ok)
                open[id].valid_until =
                    std::min(deadline, stopped.contains(id) ? stopped[id] : deadline);
        } else if (fields[0] == "stop") {
            std::int64_t at = 0;
            ok = parse_hold_id(fields, 4, id) && open.contains(id) && !stopped.contains(id) &&
                 parse_int(fields[3], at);
            if (ok) {
                stopped[id] = at;
                open[id].valid_until = std::min(open[id].valid_until, at);
            }
        } else if (fields[0] == "wrote") {
            ok = parse_hold_id(fields, 4, id) && open.contains(id) &&
                 parse_int(fields[3], open[id].first_accepted_at);
            if (ok)
                open[id].writes_accepted = 1;  // at least; the end says how many
        } else if (fields[0] == "end") {
            ok = parse_hold_id(fields, 7, id) && open.contains(id) && !fields[4].empty();
            if (ok) {
                hold& h = open[id];
                h.ended = fields[4];
                ok = parse_int(fields[3], h.valid_until) &&
                     parse_int(fields[5], h.writes_accepted) &&
                     parse_int(fields[6], h.writes_unknown);
                log.holds.push_back(std::move(h));
                open.erase(id);
            }
        } else if (fields[0] == "zombie") {
            ok = parse_zombie(fields, log.zombie_writes.emplace_back());
        } else if (fields[0] == "session") {
            ok = parse_session(fields);
            ++log.sessions_opened;
        } else if (fields[0] == "session_kills") {
            ok = fields.size() == 2 && parse_int(fields[1], log.session_kills);
        } else if (fields[0] == "counters") {
            ok = parse_counters(fields, log.counters.emplace());
        }
        if (!ok)
            throw std::runtime_error(std::string(source) + ':' + std::to_string(number) +
                                     ": not a torture log line (or not after its grant): " + line);
    }
    for (auto& [id, h] : open)
        log.unfinished.push_back(std::move(h));
    return log;
}

std::string_view complete_lines(std::string_view text) noexcept {
    const auto last = text.rfind('\n');
    return last == std::string_view::npos ? std::string_view() : text.substr(0, last + 1);
}

hold end_at_death(hold h, std::int64_t died_by) {
    h.valid_until = std::min(h.valid_until, died_by);
    h.ended = "killed";
    h.writes_unknown = std::max<std::uint64_t>(h.writes_unknown, 1);
    return h;
}

verdict check(std::vector<hold> holds) {
    std::map<std::string, std::vector<const hold*>, std::less<>> by_key;
    for (const hold& h : holds)
        by_key[h.key].push_back(&h);
    verdict v;
    v.acquisitions = holds.size();
    v.session_leases = static_cast<std::uint64_t>(std::count_if(
        holds.begin(), holds.end(), [](const hold& h) { return !h.session.empty(); }));
    for (const auto& [key, of_key] : by_key) {
        v.overlaps += count_overlaps(of_key);
        v.fence_regressions += count_fence_regressions(of_key);
        v.takeovers += count_takeovers(of_key);
    }
    return v;
}

zombie_verdict check_zombie_writes(const std::vector<hold>& holds,
                                   const std::vector<zombie_write>& zombies) {
    zombie_verdict v;
    for (const zombie_write& z : zombies) {
        ++v.writes;
        if (z.outcome == write_outcome::refused)
            ++v.refused;
        if (z.outcome != write_outcome::accepted)
            continue;
        ++v.accepted;
        const bool higher_fence_written_before =
            std::any_of(holds.begin(), holds.end(), [&](const hold& h) {
                return h.key == z.key && h.fence > z.fence && h.writes_accepted > 0 &&
                       h.first_accepted_at < z.sent_at;
            });
        if (higher_fence_written_before)
            ++v.wrongly_accepted;
    }
    return v;
}

protected_items_verdict check_protected_items(const std::vector<hold>& holds,
                                              const std::vector<zombie_write>& zombies,
                                              const stored_fences& stored) {
    struct written {
        std::optional<std::uint64_t> highest_accepted{};
        std::set<std::uint64_t> unknown{};
    };
    std::map<std::string_view, written> by_key;
    const auto note = [&](std::string_view key, std::uint64_t fence, bool accepted, bool unknown) {
        written& w = by_key[key];
        if (accepted)
            w.highest_accepted = std::max(w.highest_accepted.value_or(0), fence);
        if (unknown)
            w.unknown.insert(fence);
    };
    for (const hold& h : holds)
        note(h.key, h.fence, h.writes_accepted > 0, h.writes_unknown > 0);
    for (const zombie_write& z : zombies)
        note(z.key, z.fence, z.outcome == write_outcome::accepted,
             z.outcome == write_outcome::unknown);

    const auto describe = [](const std::optional<std::uint64_t>& fence) {
        return fence ? std::to_string(*fence) : std::string("none");
    };
    protected_items_verdict v;
    for (const auto& [key, fence] : stored) {
        ++v.checked;
        const auto found = by_key.find(key);
        const written w = found == by_key.end() ? written{} : found->second;
        const bool consistent =
            fence == w.highest_accepted ||
            (fence && *fence > w.highest_accepted.value_or(0) && w.unknown.contains(*fence));
        if (!consistent) {
            ++v.mismatches;
            v.details.push_back(key + ": stored fence " + describe(fence) + ", highest accepted " +
                                describe(w.highest_accepted));
        }
    }
    return v;
}

}  // namespace dynalock::torture
