// The Prometheus text format writer: names, escaping, merging and histograms.
#include <gtest/gtest.h>

#include "metrics/exposition.hpp"
#include "metrics/process_stats.hpp"

using namespace vgpu::core::metrics;

TEST(Exposition, WritesHelpTypeAndSamplesInDeclarationOrder) {
  Exposition e;
  e.family("b_total", Type::counter, "second");
  e.family("a", Type::gauge, "first\\with a backslash\nand a newline");
  e.add("a", {}, 1.5);
  e.add("b_total", {{"vm", "1"}}, 2);
  EXPECT_EQ(e.text(),
            "# HELP b_total second\n# TYPE b_total counter\nb_total{vm=\"1\"} 2\n"
            "# HELP a first\\\\with a backslash\\nand a newline\n# TYPE a gauge\na 1.5\n");
}

TEST(Exposition, EscapesLabelValuesAndAddsSamplesWithTheSameLabels) {
  Exposition e;
  e.family("x", Type::counter, "h");
  e.add("x", {{"pool", "a\"b\\c\nd"}}, 1);
  e.add("x", {{"pool", "a\"b\\c\nd"}}, 2);  // the same series: added, not repeated
  EXPECT_NE(e.text().find("x{pool=\"a\\\"b\\\\c\\nd\"} 3\n"), std::string::npos) << e.text();
}

TEST(Exposition, RefusesNamesPrometheusRejects) {
  Exposition e;
  EXPECT_THROW(e.family("1abc", Type::gauge, ""), std::invalid_argument);
  EXPECT_THROW(e.family("a-b", Type::gauge, ""), std::invalid_argument);
  e.family("ok", Type::gauge, "");
  EXPECT_THROW(e.family("ok", Type::counter, ""), std::invalid_argument);
  EXPECT_THROW(e.add("ok", {{"bad-label", "v"}}, 1), std::invalid_argument);
  EXPECT_THROW(e.add("ok", {{"__reserved", "v"}}, 1), std::invalid_argument);
  EXPECT_THROW(e.add("undeclared", {}, 1), std::invalid_argument);
  EXPECT_TRUE(Exposition::valid_metric_name("vgpu:rate_5m"));
  EXPECT_FALSE(Exposition::valid_label_name("a:b"));
  EXPECT_EQ(Exposition::sanitize("file.requests"), "file_requests");
  EXPECT_EQ(Exposition::sanitize("9lives"), "_lives");
}

TEST(Exposition, HistogramBucketsAreCumulativeAndEndAtTheCount) {
  DurationHistogram h;
  h.observe(std::chrono::microseconds(40));   // <= 50 µs
  h.observe(std::chrono::microseconds(700));  // <= 1 ms
  h.observe(std::chrono::seconds(30));        // only +Inf
  Exposition e;
  e.family("w_seconds", Type::histogram, "h");
  e.histogram("w_seconds", {{"vm", "1"}}, h);
  const auto text = e.text();
  EXPECT_NE(text.find("w_seconds_bucket{vm=\"1\",le=\"5.0000000000000002e-05\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("w_seconds_bucket{vm=\"1\",le=\"0.001\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("w_seconds_bucket{vm=\"1\",le=\"10\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("w_seconds_bucket{vm=\"1\",le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("w_seconds_count{vm=\"1\"} 3\n"), std::string::npos) << text;
  EXPECT_THROW(e.add("w_seconds", {}, 1), std::invalid_argument);
}

TEST(ProcessStats, ReadsThisProcess) {
  const auto p = read_process_stats();
  EXPECT_GT(p.rss_bytes, 0u);
  EXPECT_GE(p.open_fds, 3u);  // stdin, stdout, stderr at least
  EXPECT_GT(p.max_fds, 0u);
  EXPECT_GT(p.start_time_seconds, 1.6e9);  // after 2020
}
