// The simulator with the real policy plugins: it measures what the policies promise.
#include <gtest/gtest.h>

#include "config.hpp"
#include "plugin_host/host_context.hpp"
#include "plugin_host/plugin_loader.hpp"
#include "report.hpp"
#include "spdlog_logger.hpp"

using namespace vgpu;

namespace {

sim::Report run(const std::string& workload_yaml, const std::string& policy,
                const std::string& settings = "{}") {
  static core::SpdLogger log("");
  static core::MetricsRegistry metrics;
  static core::PluginLoader loader({std::filesystem::path(VGPU_BUILD_DIR) / "plugins"});
  auto lib = loader.load(sdk::PluginKind::policy, policy);
  const auto w = sim::parse_workload_yaml(workload_yaml, "test.yaml");
  const YAML::Node node = YAML::Load(settings);
  std::unique_ptr<core::HostContext> context;  // outlives the policy made with it
  auto result = sim::simulate(w, [&](auto now) {
    context = std::make_unique<core::HostContext>(log, metrics, policy, now);
    return lib->make_policy(node, *context);
  });
  return sim::make_report(w, result);
}

const sim::GroupStats& vm(const sim::Report& r, const std::string& name) {
  for (const auto& g : r.vms)
    if (g.name == name) return g;
  throw std::runtime_error("no VM " + name);
}

const char* kShares = R"(
slots: 2
duration_s: 300
seed: 7
pools: {A: 3, B: 1}
vms:
  - {vm_id: 1, name: a1, pool: A, weight: 1}
  - {vm_id: 2, name: a2, pool: A, weight: 2}
  - {vm_id: 3, name: b1, pool: B, weight: 1}
  - {vm_id: 4, name: b2, pool: B, weight: 1}
workload:
  - {vm: 1, kind: closed, inflight: 4, job_us: 500, jitter: 0.5}
  - {vm: 2, kind: closed, inflight: 4, job_us: 4000, jitter: 0.5}
  - {vm: 3, kind: closed, inflight: 4, job_us: 8000, jitter: 0.5}
  - {vm: 4, kind: closed, inflight: 4, job_us: 1000, jitter: 0.5}
)";

const char* kFlood = R"(
slots: 1
duration_s: 60
vms:
  - {vm_id: 1, name: flooder, pool: A, priority: medium}
  - {vm_id: 2, name: p1, pool: A, priority: medium}
  - {vm_id: 3, name: p2, pool: A, priority: medium}
  - {vm_id: 4, name: p3, pool: A, priority: medium}
workload:
  - {vm: 1, kind: closed, inflight: 32, job_us: 2000, jitter: 0.3}
  - {vm: 2, kind: closed, inflight: 1, job_us: 2000, jitter: 0.3}
  - {vm: 3, kind: closed, inflight: 1, job_us: 2000, jitter: 0.3}
  - {vm: 4, kind: closed, inflight: 1, job_us: 2000, jitter: 0.3}
)";

const char* kStarvation = R"(
slots: 1
duration_s: 20
vms:
  - {vm_id: 1, name: high, pool: A, priority: high}
  - {vm_id: 2, name: low, pool: A, priority: low}
workload:
  - {vm: 1, kind: closed, inflight: 8, job_us: 5000}
  - {vm: 2, kind: poisson, rate: 20, job_us: 1000}
)";

}  // namespace

TEST(Simulator, WeightedSharesWithinTwoPercentOfWeights) {
  auto r = run(kShares, "weighted");
  for (const auto& g : r.vms)
    EXPECT_NEAR(g.share / g.entitlement, 1.0, 0.02)
        << g.name << ": share " << g.share << ", entitled " << g.entitlement;
  EXPECT_NEAR(r.pools[0].share, 0.75, 0.75 * 0.02);
  EXPECT_GT(r.jain_index, 0.999);
}

TEST(Simulator, JobCountPoliciesMissTheWeights) {
  // The same workload under round_robin: pools alternate per job, so time follows job sizes.
  auto r = run(kShares, "round_robin");
  EXPECT_LT(r.jain_index, 0.9);
}

TEST(Simulator, RoundRobinIsFairAcrossEqualVms) {
  auto rr = run(kFlood, "round_robin");
  EXPECT_GE(rr.jain_index, 0.99);
  for (const auto& g : rr.vms) EXPECT_NEAR(g.share, 0.25, 0.02) << g.name;
  auto strict = run(kFlood, "strict_priority");
  EXPECT_LT(strict.jain_index, 0.5) << "FIFO within a level lets the flooder take the executor";
  EXPECT_GT(vm(strict, "flooder").share, 0.85);
}

TEST(Simulator, AgingEndsStarvation) {
  auto plain = run(kStarvation, "strict_priority");
  auto aged = run(kStarvation, "strict_priority", "{aging_ms: 100}");
  EXPECT_GT(vm(plain, "low").p50_wait_ms, 5000) << "low runs only after high stops";
  // Two aging steps (low -> medium -> high) and then at most the high VM's backlog of 8 x 5 ms.
  EXPECT_LT(vm(aged, "low").p99_wait_ms, 250);
  EXPECT_GT(vm(aged, "high").share, 0.9) << "high keeps most of the executor";
  auto rr_aged = run(kStarvation, "round_robin", "{aging_ms: 100}");
  EXPECT_LT(vm(rr_aged, "low").p99_wait_ms, 250);
}

TEST(Simulator, RunsAreDeterministic) {
  auto a = run(kShares, "weighted");
  auto b = run(kShares, "weighted");
  ASSERT_EQ(a.vms.size(), b.vms.size());
  for (std::size_t i = 0; i < a.vms.size(); ++i) {
    EXPECT_EQ(a.vms[i].jobs, b.vms[i].jobs);
    EXPECT_EQ(a.vms[i].mean_wait_ms, b.vms[i].mean_wait_ms);
  }
}

TEST(Simulator, WorkloadErrorsNamePosition) {
  try {
    sim::parse_workload_yaml(
        "vms:\n  - {vm_id: 1}\nworkload:\n  - {vm: 1, kind: closed, inflite: 3}\n", "w.yaml");
    FAIL();
  } catch (const core::ConfigFileError& e) {
    EXPECT_NE(std::string(e.what()).find("w.yaml:4:"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("'inflite'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sim::parse_workload_yaml("vms:\n  - {vm_id: 1}\nworkload:\n  - {vm: 2}\n", "w.yaml"),
               core::ConfigFileError);
  EXPECT_THROW(sim::parse_workload_csv("0.1,1,A,7,1,100\n", "t.csv"), core::ConfigFileError);
}

TEST(Simulator, CsvTraceRunsEveryJob) {
  auto w = sim::parse_workload_csv(
      "arrival_s,vm_id,pool,priority,weight,duration_us\n"
      "0,1,A,2,1,1000\n0,2,A,0,1,1000\n0.0005,1,A,2,1,1000\n",
      "t.csv");
  static core::SpdLogger log("");
  static core::MetricsRegistry metrics;
  core::PluginLoader loader({std::filesystem::path(VGPU_BUILD_DIR) / "plugins"});
  auto lib = loader.load(sdk::PluginKind::policy, "strict_priority");
  std::unique_ptr<core::HostContext> context;
  auto r = sim::simulate(w, [&](auto now) {
    context = std::make_unique<core::HostContext>(log, metrics, "t", now);
    return lib->make_policy(YAML::Node(), *context);
  });
  ASSERT_EQ(r.jobs.size(), 3u);
  EXPECT_EQ(r.jobs[0].vm_id, 1u);
  EXPECT_EQ(r.jobs[1].vm_id, 1u) << "the second high job, queued by then, beats low";
  EXPECT_EQ(r.jobs[2].vm_id, 2u);
  EXPECT_NEAR(r.makespan_s, 0.003, 1e-9);
}
