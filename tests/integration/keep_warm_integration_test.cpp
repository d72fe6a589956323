// keep_warm_us on a real mediator: warm-ups follow a high-priority VM's job through the
// executor's worker process, show in the metrics and the admin statistics, never follow a low
// VM's job, and bad values are refused with their place in the file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "guest_helpers.hpp"
#include "http_get.hpp"
#include "mediator_process.hpp"
#include "vgpu/sdk/job.hpp"

namespace vgpu::testing {
namespace {

using namespace std::chrono_literals;

const std::string kMetrics = "metrics:\n  listen: 127.0.0.1\n  port: 0\n";
const std::string kWarmCpu =
    "  - plugin: cpu\n    isolation: process\n    workers: 2\n    keep_warm_us: 1000\n";

double warm_ups(const MediatorProcess& m) {
  const auto text = http_get(m.metrics_url());
  std::smatch match;
  static const std::regex line(R"(vgpu_executor_warm_ups_total\{executor="cpu"\} ([0-9.e+]+))");
  if (!std::regex_search(text, match, line)) return -1;
  return std::stod(match[1]);
}

TEST(KeepWarmMediator, AHighPriorityVmsJobIsFollowedByWarmUpsThroughTheWorkerProcess) {
  MediatorProcess m({{"high", "A", "high"}}, kMetrics, "strict_priority", 1, "", kWarmCpu);
  EXPECT_EQ(warm_ups(m), 0) << "nothing warms before a high-priority job";
  auto c = connect_as(m, "high");
  ASSERT_EQ(c.run("noop", {}).status, sdk::Status::ok);
  double seen = 0;
  for (int i = 0; i < 200 && seen < 20; ++i) {
    std::this_thread::sleep_for(10ms);
    seen = warm_ups(m);
  }
  EXPECT_GE(seen, 20) << m.log();
  // The VM's own jobs still run, and it is counted for its jobs only.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(c.run("saxpy", {{"n", "64"}}).status, sdk::Status::ok);
  const auto stats = m.stats();
  EXPECT_GE(stats["devices"][0]["warm_ups"].get<double>(), 20) << stats.dump();
  EXPECT_FALSE(stats["vms"].contains("0")) << stats.dump();
}

TEST(KeepWarmMediator, ALowPriorityVmsJobsWarmNothing) {
  MediatorProcess m({{"low", "A", "low"}}, kMetrics, "strict_priority", 1, "", kWarmCpu);
  auto c = connect_as(m, "low");
  for (int i = 0; i < 5; ++i) ASSERT_EQ(c.run("noop", {}).status, sdk::Status::ok);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(warm_ups(m), 0);
}

TEST(KeepWarmMediator, BadValuesAreRefusedWithTheirPlace) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("vgpu-warm-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto check = [&](const std::string& executor) { return check_executors_config(dir, executor); };

  auto r = check("  - plugin: cpu\n    keep_warm_us: 500\n");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  r = check("  - plugin: cpu\n    keep_warm_us: -1\n");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("m.yaml:10:19: bad value -1 for 'keep_warm_us'"), std::string::npos)
      << r.output;
  r = check("  - plugin: cpu\n    keep_warm_us: 2000000\n");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("expected 0 (off) to 1000000 microseconds"), std::string::npos)
      << r.output;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace vgpu::testing
