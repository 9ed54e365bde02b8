// prometheus_writer's refusals and exact lines; metrics_test.py parses the
// whole of what it writes with Prometheus's own parser.

#include <dynalock/error.hpp>
#include <dynalock/prometheus.hpp>

#include <gtest/gtest.h>

#include <string>
#include <system_error>

using namespace dynalock;
using namespace std::chrono_literals;

namespace {

// The message of the std::system_error(errc::invalid_argument) `f` throws.
template <class F>
std::string refusal(F f) {
    try {
        f();
    } catch (const std::system_error& e) {
        EXPECT_EQ(e.code(), std::error_code(make_error_code(errc::invalid_argument)));
        return e.what();
    }
    ADD_FAILURE() << "nothing was refused";
    return {};
}

TEST(prometheus_writer, writes_help_type_and_samples_with_labels_escaped) {
    prometheus_writer w("app", {{"worker", "a\"b\\c\nd"}});
    w.counter("jobs", "Jobs done.\nPer worker \\ all.", 3);
    w.gauge("ratio", "A ratio.", 0.25);
    w.gauge("wait_seconds", "A wait.", 1500ms);
    EXPECT_EQ(w.text(),
              "# HELP app_jobs_total Jobs done.\\nPer worker \\\\ all.\n"
              "# TYPE app_jobs_total counter\n"
              "app_jobs_total{worker=\"a\\\"b\\\\c\\nd\"} 3\n"
              "# HELP app_ratio A ratio.\n"
              "# TYPE app_ratio gauge\n"
              "app_ratio{worker=\"a\\\"b\\\\c\\nd\"} 0.25\n"
              "# HELP app_wait_seconds A wait.\n"
              "# TYPE app_wait_seconds gauge\n"
              "app_wait_seconds{worker=\"a\\\"b\\\\c\\nd\"} 1.5\n");
}

TEST(prometheus_writer, an_empty_histogram_has_zero_counts_and_sum) {
    prometheus_writer w("", {});
    w.histogram("latency_seconds", "Latency.", latency_histogram{});
    const std::string& t = w.text();
    EXPECT_NE(t.find("latency_seconds_bucket{le=\"0.000128\"} 0\n"), std::string::npos) << t;
    EXPECT_NE(t.find("latency_seconds_bucket{le=\"4294.967296\"} 0\n"), std::string::npos) << t;
    EXPECT_NE(t.find("latency_seconds_bucket{le=\"+Inf\"} 0\n"), std::string::npos) << t;
    EXPECT_NE(t.find("latency_seconds_sum 0\nlatency_seconds_count 0\n"), std::string::npos) << t;
}

TEST(prometheus_writer, refuses_names_that_prometheus_would_not_read) {
    EXPECT_NE(refusal([] { prometheus_writer w("9lives"); }).find("'9lives'"), std::string::npos);
    EXPECT_NE(refusal([] { prometheus_writer w("a-b"); }).find("'a-b'"), std::string::npos);
    EXPECT_NE(refusal([] {
                  prometheus_writer w("ok", {{"bad name", "x"}});
              }).find("'bad name'"),
              std::string::npos);
    EXPECT_NE(refusal([] {
                  prometheus_writer w("ok", {{"__reserved", "x"}});
              }).find("__"),
              std::string::npos);
    EXPECT_NE(refusal([] {
                  prometheus_writer w("ok", {{"le", "x"}});
              }).find("'le'"),
              std::string::npos);
    EXPECT_NE(refusal([] {
                  prometheus_writer w("ok", {{"a", "x"}, {"a", "y"}});
              }).find("twice"),
              std::string::npos);
    EXPECT_NE(refusal([] {
                  prometheus_writer w("ok", {{"reason", "x"}});
                  w.counter("lost", "Lost.", "reason", {{"stolen", 1}});
              }).find("'reason'"),
              std::string::npos);
    EXPECT_NE(refusal([] {
                  prometheus_writer w;
                  w.gauge("held", "Held.", 1.0);
                  w.gauge("held", "Held.", 2.0);
              }).find("'dynalock_held' is written twice"),
              std::string::npos);
    EXPECT_NE(refusal([] {
                  prometheus_writer w;
                  w.gauge("a.b", "Held.", 1.0);
              }).find("'dynalock_a.b'"),
              std::string::npos);
}

}  // namespace
