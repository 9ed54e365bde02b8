// The Prometheus text exposition format, version 0.0.4:
// https://prometheus.io/docs/instrumenting/exposition_formats/

#include <dynalock/error.hpp>
#include <dynalock/prometheus.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <system_error>

namespace dynalock {

namespace {

[[noreturn]] void refuse(std::string why) {
    throw std::system_error(make_error_code(errc::invalid_argument), "prometheus_writer: " + why);
}

bool is_name(std::string_view s, bool colons) {
    auto first = [&](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colons && c == ':');
    };
    auto next = [&](char c) { return first(c) || (c >= '0' && c <= '9'); };
    if (s.empty() || !first(s.front())) {
        return false;
    }
    for (char c : s.substr(1)) {
        if (!next(c)) {
            return false;
        }
    }
    return true;
}

void check_label_name(std::string_view name) {
    if (!is_name(name, false) || name.starts_with("__") || name == "le" || name == "quantile") {
        refuse("'" + std::string(name) +
               "' is not a label name (letters, digits and _, not starting with __; le and "
               "quantile are reserved)");
    }
}

// Label values and help texts: backslash and newline escaped, and in label
// values the double quote.
void append_escaped(std::string& out, std::string_view text, bool quote) {
    for (char c : text) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (quote && c == '"') {
            out += "\\\"";
        } else {
            out += c;
        }
    }
}

std::string integer(std::uint64_t v) {
    return std::to_string(v);
}

// Exact decimal seconds of a count of microseconds, without trailing zeros.
std::string seconds(std::chrono::microseconds d) {
    const auto us = d.count();
    const bool negative = us < 0;
    const std::uint64_t magnitude =
        negative ? static_cast<std::uint64_t>(-(us + 1)) + 1 : static_cast<std::uint64_t>(us);
    std::string text = (negative ? "-" : "") + std::to_string(magnitude / 1'000'000);
    std::string fraction = std::to_string(magnitude % 1'000'000);
    fraction.insert(0, 6 - fraction.size(), '0');
    while (!fraction.empty() && fraction.back() == '0') {
        fraction.pop_back();
    }
    return fraction.empty() ? text : text + "." + fraction;
}

std::string real(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    std::array<char, 32> text{};
    auto [end, ec] = std::to_chars(text.data(), text.data() + text.size(), v);
    return std::string(text.data(), end);
}

}  // namespace

prometheus_writer::prometheus_writer(std::string prefix, metric_labels labels)
    : prefix_(std::move(prefix)), labels_(std::move(labels)) {
    if (!prefix_.empty() && !is_name(prefix_, true)) {
        refuse("'" + prefix_ + "' is not a metric name prefix (letters, digits, _ and :)");
    }
    std::set<std::string_view> seen;
    for (const auto& [name, value] : labels_) {
        check_label_name(name);
        if (!seen.insert(name).second) {
            refuse("the label '" + name + "' is given twice");
        }
    }
}

std::string prometheus_writer::family(std::string_view name, std::string_view help,
                                      std::string_view type) {
    std::string full = prefix_.empty() ? std::string(name) : prefix_ + "_" + std::string(name);
    if (!is_name(full, true)) {
        refuse("'" + full + "' is not a metric name");
    }
    if (!families_.insert(full).second) {
        refuse("the metric '" + full + "' is written twice");
    }
    text_ += "# HELP " + full + " ";
    append_escaped(text_, help, false);
    text_ += "\n# TYPE " + full + " " + std::string(type) + "\n";
    return full;
}

void prometheus_writer::sample(std::string_view name, const metric_labels& extra,
                               std::string_view value) {
    text_ += name;
    if (!labels_.empty() || !extra.empty()) {
        char sep = '{';
        for (const metric_labels* set : {&std::as_const(labels_), &extra}) {
            for (const auto& [label, v] : *set) {
                text_ += sep;
                text_ += label + "=\"";
                append_escaped(text_, v, true);
                text_ += '"';
                sep = ',';
            }
        }
        text_ += '}';
    }
    text_ += ' ';
    text_ += value;
    text_ += '\n';
}

void prometheus_writer::counter(std::string_view name, std::string_view help, std::uint64_t value) {
    const std::string full = family(std::string(name) + "_total", help, "counter");
    sample(full, {}, integer(value));
}

void prometheus_writer::counter(std::string_view name, std::string_view help,
                                std::string_view label,
                                const std::vector<std::pair<std::string, std::uint64_t>>& values) {
    check_label_name(label);
    for (const auto& [common, v] : labels_) {
        if (common == label) {
            refuse("the label '" + common + "' is given twice");
        }
    }
    const std::string full = family(std::string(name) + "_total", help, "counter");
    for (const auto& [label_value, v] : values) {
        sample(full, {{std::string(label), label_value}}, integer(v));
    }
}

void prometheus_writer::gauge(std::string_view name, std::string_view help, double value) {
    sample(family(name, help, "gauge"), {}, real(value));
}

void prometheus_writer::gauge(std::string_view name, std::string_view help,
                              std::chrono::microseconds value) {
    sample(family(name, help, "gauge"), {}, seconds(value));
}

void prometheus_writer::histogram(std::string_view name, std::string_view help,
                                  const latency_histogram& h) {
    const std::string full = family(name, help, "histogram");
    const std::string bucket = full + "_bucket";
    // Bucket 4k starts at 2^(k+1) µs: powers of two are edges of the
    // histogram's own buckets, so each cumulative count below is exact.
    constexpr std::size_t first_edge = 24;  // 2^7 µs
    constexpr std::size_t last_edge = 124;  // 2^32 µs; the last bucket has no top
    std::uint64_t below = 0;
    std::size_t b = 0;
    for (std::size_t edge = first_edge; edge <= last_edge; edge += 4) {
        for (; b < edge; ++b) {
            below += h.counts[b];
        }
        const auto at = std::chrono::microseconds(std::int64_t{1} << (edge / 4 + 1));
        sample(bucket, {{"le", seconds(at)}}, integer(below));
    }
    const std::uint64_t total = h.total();
    sample(bucket, {{"le", "+Inf"}}, integer(total));
    sample(full + "_sum", {}, seconds(h.sum));
    sample(full + "_count", {}, integer(total));
}

void write_metrics(prometheus_writer& w, const lock_client_stats& s) {
    w.gauge("locks_held", "Locks held now (under a session or not).", static_cast<double>(s.held));
    w.gauge("sessions_open", "Sessions open now.", static_cast<double>(s.sessions));
    w.gauge("lease_requests_in_flight",
            "Lease requests (heartbeats, releases, the reads settling ambiguous writes) in "
            "flight now.",
            static_cast<double>(s.in_flight));
    w.gauge("lease_requests_in_flight_limit",
            "The bound on lease requests in flight now: halved by throttling, grown back by "
            "successes.",
            static_cast<double>(s.in_flight_limit));
    w.counter("locks_acquired", "Locks granted.", s.acquired);
    w.counter("locks_released", "Leases of locks that ended by release.", s.released);
    w.counter("locks_lost", "Leases of locks that ended otherwise, by reason.", "reason",
              {{"stolen", s.lost_stolen}, {"expired", s.lost_expired}});
    w.counter("sessions_opened", "Sessions opened.", s.sessions_opened);
    w.counter("sessions_lost", "Sessions that ended lost (stolen or expired) rather than closed.",
              s.sessions_lost);
    w.counter("sessions_killed", "Sessions of other holders this client ended as a contender.",
              s.session_kills);
    w.counter("heartbeats_sent", "Heartbeat requests sent, of locks and of sessions.",
              s.heartbeats_sent);
    w.counter("heartbeats_failed", "Heartbeat requests that failed.", s.heartbeats_failed);
    w.counter("requests_throttled",
              "Lease and acquire requests that ended throttled after the store's own retries.",
              s.throttled);
    w.counter("store_requests", "Requests made of the store, by kind (a listing counts a page).",
              "kind", {{"read", s.store_reads}, {"write", s.store_writes}});
    w.gauge("heartbeat_gap_max_seconds",
            "The longest time any lease went between two renewals (its grant counts as one).",
            s.max_heartbeat_gap);
    w.histogram("heartbeat_latency_seconds",
                "From sending a heartbeat to learning it renewed the lease.", s.heartbeat_latency);
}

std::string to_prometheus(const lock_client_stats& s, std::string prefix, metric_labels labels) {
    prometheus_writer w(std::move(prefix), std::move(labels));
    write_metrics(w, s);
    return w.text();
}

}  // namespace dynalock
