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

bool parse_hold(const std::vector<std::string_view>& f, hold& h) {
    if (f.size() != 8 || f[1].empty() || f[3].empty() || f[7].empty())
        return false;
    h.key = f[1];
    h.owner = f[3];
    h.ended = f[7];
    return parse_int(f[2], h.fence) && parse_int(f[4], h.valid_from) &&
           parse_int(f[5], h.valid_until) && parse_int(f[6], h.granted_at);
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

std::string format_line(const hold& h) {
    return "hold," + h.key + ',' + std::to_string(h.fence) + ',' + h.owner + ',' +
           std::to_string(h.valid_from) + ',' + std::to_string(h.valid_until) + ',' +
           std::to_string(h.granted_at) + ',' + h.ended + '\n';
}

std::string format_line(const worker_counters& c) {
    return "counters," + std::to_string(c.faults) + ',' + std::to_string(c.protected_writes) + ',' +
           std::to_string(c.stale_writes_refused) + ',' + std::to_string(c.write_errors) + ',' +
           std::to_string(c.acquire_errors) + '\n';
}

worker_log parse_log(std::istream& in, std::string_view source) {
    worker_log log;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const auto fields = split(line);
        bool ok = false;
        if (log.counters) {
            ok = false;  // the counters line is the last one
        } else if (fields[0] == "hold") {
            ok = parse_hold(fields, log.holds.emplace_back());
        } else if (fields[0] == "counters") {
            ok = parse_counters(fields, log.counters.emplace());
        }
        if (!ok)
            throw std::runtime_error(std::string(source) + ':' + std::to_string(number) +
                                     ": not a torture log line: " + line);
    }
    return log;
}

verdict check(std::vector<hold> holds) {
    std::map<std::string, std::vector<const hold*>, std::less<>> by_key;
    for (const hold& h : holds)
        by_key[h.key].push_back(&h);
    verdict v;
    v.acquisitions = holds.size();
    for (const auto& [key, of_key] : by_key) {
        v.overlaps += count_overlaps(of_key);
        v.fence_regressions += count_fence_regressions(of_key);
        v.takeovers += count_takeovers(of_key);
    }
    return v;
}

}  // namespace dynalock::torture
