#pragma once

/// \file
/// Stats in the Prometheus text exposition format.

#include <dynalock/lock_client_stats.hpp>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dynalock {

/// Label names and values, in the order they are written.
using metric_labels = std::vector<std::pair<std::string, std::string>>;

/// Writes metric families in the Prometheus text exposition format (0.0.4),
/// each with its HELP and TYPE lines, for a `/metrics` endpoint. Names follow
/// Prometheus's conventions: `<prefix>_<name>`, counters end in `_total`
/// (added here), durations are in seconds and their names end in `_seconds`
/// (the caller's). Components write their own families into one writer
/// (`write_metrics` for lock_client_stats); a family may be written once.
///
/// The writer checks names, not help texts (which are escaped): a bad name is
/// a programming mistake or a bad option, and throws std::system_error
/// (errc::invalid_argument) naming it.
class prometheus_writer {
public:
    /// `prefix` starts every metric name, `labels` go on every sample (e.g.
    /// `{{"worker", "w-1"}}`). Throws as above for a prefix that is not a
    /// metric name, a label name that is not one (or is reserved: `le`,
    /// `__`…), or a label named twice.
    explicit prometheus_writer(std::string prefix = "dynalock", metric_labels labels = {});

    /// `<prefix>_<name>_total`, a counter.
    void counter(std::string_view name, std::string_view help, std::uint64_t value);
    /// `<prefix>_<name>_total`, a counter with one sample per value of the
    /// label `label` (e.g. losses by `reason`).
    void counter(std::string_view name, std::string_view help, std::string_view label,
                 const std::vector<std::pair<std::string, std::uint64_t>>& values);
    /// `<prefix>_<name>`, a gauge.
    void gauge(std::string_view name, std::string_view help, double value);
    /// `<prefix>_<name>`, a gauge of a duration, written in seconds (exactly,
    /// to the microsecond).
    void gauge(std::string_view name, std::string_view help, std::chrono::microseconds value);
    /// `<prefix>_<name>`, a histogram of durations in seconds: the cumulative
    /// count below each power of two of microseconds from 128 µs to 2^32 µs
    /// (71.6 min), each an edge of the latency_histogram's own buckets so
    /// that every count is exact; then `+Inf`, `_sum` and `_count`.
    void histogram(std::string_view name, std::string_view help, const latency_histogram& h);

    /// Everything written so far.
    const std::string& text() const noexcept { return text_; }

private:
    std::string family(std::string_view name, std::string_view help, std::string_view type);
    void sample(std::string_view name, const metric_labels& extra, std::string_view value);

    std::string prefix_;
    metric_labels labels_;
    std::set<std::string, std::less<>> families_;
    std::string text_;
};

/// Writes a lock client's stats as `dynalock_locks_held`,
/// `dynalock_locks_acquired_total`, `dynalock_heartbeat_latency_seconds` and
/// the rest (with the writer's prefix; docs/observability.md lists them).
void write_metrics(prometheus_writer& w, const lock_client_stats& s);

/// A lock client's stats alone, as a whole exposition.
std::string to_prometheus(const lock_client_stats& s, std::string prefix = "dynalock",
                          metric_labels labels = {});

}  // namespace dynalock
