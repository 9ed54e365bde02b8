#include <dynalock/lock_client_stats.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

namespace dynalock {

namespace {

// Four buckets per power of two: 0–3 µs one each, then [4·2^k, 5·2^k),
// [5·2^k, 6·2^k), [6·2^k, 7·2^k), [7·2^k, 8·2^k) for k = 0, 1, ...
std::size_t bucket_of(std::uint64_t us) noexcept {
    if (us < 4) {
        return static_cast<std::size_t>(us);
    }
    const auto top = static_cast<std::size_t>(std::bit_width(us) - 1);  // ≥ 2
    const auto quarter = static_cast<std::size_t>((us >> (top - 2)) & 3);
    return std::min(4 * (top - 1) + quarter, latency_histogram::buckets - 1);
}

std::uint64_t lower_edge(std::size_t bucket) noexcept {
    if (bucket < 4) {
        return bucket;
    }
    return std::uint64_t{4 + bucket % 4} << (bucket / 4 - 1);
}

}  // namespace

void latency_histogram::record(std::chrono::microseconds latency) noexcept {
    const auto us = latency.count() < 0 ? 0 : static_cast<std::uint64_t>(latency.count());
    ++counts[bucket_of(us)];
    sum += std::chrono::microseconds(static_cast<std::int64_t>(us));
}

std::uint64_t latency_histogram::total() const noexcept {
    return std::accumulate(counts.begin(), counts.end(), std::uint64_t{0});
}

std::chrono::microseconds latency_histogram::quantile(double q) const noexcept {
    const std::uint64_t n = total();
    if (n == 0) {
        return {};
    }
    const auto rank =
        static_cast<std::uint64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(n)));
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
        seen += counts[b];
        if (seen >= std::max<std::uint64_t>(rank, 1)) {
            const auto upper = b + 1 < buckets ? lower_edge(b + 1) : lower_edge(b) * 2;
            return std::chrono::microseconds(static_cast<std::int64_t>(upper));
        }
    }
    return std::chrono::microseconds(static_cast<std::int64_t>(lower_edge(buckets - 1) * 2));
}

}  // namespace dynalock
