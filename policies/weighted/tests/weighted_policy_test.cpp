// Shares are checked by running a one-slot executor in a loop: dispatch, complete with a cost.
#include "weighted_policy.hpp"

#include <gtest/gtest.h>

#include <map>

using namespace vgpu;
using namespace std::chrono_literals;

namespace {

struct Tenant {
  std::uint32_t vm;
  const char* pool;
  double weight, pool_weight;
  std::chrono::nanoseconds cost;
};

// Keeps every tenant backlogged for `rounds` dispatches; returns executor time used per VM.
std::map<std::uint32_t, double> run(policies::WeightedPolicy& p, const std::vector<Tenant>& ts,
                                    int rounds, std::vector<bool> active = {}) {
  static sdk::JobId id = 1;  // ids stay unique across runs on one policy
  std::map<std::uint32_t, const Tenant*> by_vm;
  for (std::size_t i = 0; i < ts.size(); ++i) {
    if (!active.empty() && !active[i]) continue;
    by_vm[ts[i].vm] = &ts[i];
    for (int k = 0; k < 4; ++k) {
      auto j = std::make_shared<sdk::Job>();
      j->id = id++;
      j->tenant = sdk::Tenant{ts[i].vm, ts[i].pool, 1, ts[i].weight, ts[i].pool_weight};
      p.enqueue(j);
    }
  }
  std::map<std::uint32_t, double> used;
  for (int r = 0; r < rounds; ++r) {
    auto job = p.dispatch({});
    EXPECT_NE(job, nullptr);
    const Tenant& t = *by_vm.at(job->tenant.vm_id);
    used[t.vm] += t.cost.count();
    p.completed(*job, {t.cost, t.cost});
    auto again = std::make_shared<sdk::Job>(*job);  // stay backlogged
    again->id = id++;
    p.enqueue(again);
  }
  return used;
}

double share(const std::map<std::uint32_t, double>& used, std::vector<std::uint32_t> vms) {
  double total = 0, part = 0;
  for (auto& [vm, ns] : used) total += ns;
  for (auto vm : vms) part += used.count(vm) ? used.at(vm) : 0;
  return part / total;
}

}  // namespace

TEST(Weighted, PoolsShareByPoolWeight) {
  policies::WeightedPolicy p;
  auto used = run(p, {{1, "A", 1, 3, 1ms}, {2, "B", 1, 1, 1ms}}, 4000);
  EXPECT_NEAR(share(used, {1}), 0.75, 0.01);
}

TEST(Weighted, VmsShareThePoolByVmWeight) {
  policies::WeightedPolicy p;
  auto used = run(p, {{1, "A", 1, 1, 1ms}, {2, "A", 3, 1, 1ms}, {3, "B", 1, 1, 1ms}}, 6000);
  EXPECT_NEAR(share(used, {3}), 0.5, 0.01) << "pool B alone gets half";
  EXPECT_NEAR(share(used, {2}), 0.375, 0.01) << "3/4 of pool A's half";
  EXPECT_NEAR(share(used, {1}), 0.125, 0.01);
}

TEST(Weighted, MeasuredCostNotJobCountDecides) {
  policies::WeightedPolicy p;
  // Equal weights; VM 1's jobs cost four times VM 2's: time is shared equally, so VM 2 runs
  // about four times as many jobs.
  auto used = run(p, {{1, "A", 1, 1, 4ms}, {2, "A", 1, 1, 1ms}}, 5000);
  EXPECT_NEAR(share(used, {1}), 0.5, 0.02);
}

TEST(Weighted, WorkConservingWhenAPoolIsIdle) {
  policies::WeightedPolicy p;
  auto used = run(p, {{1, "A", 1, 1, 1ms}, {2, "B", 1, 9, 1ms}}, 1000, {true, false});
  EXPECT_DOUBLE_EQ(share(used, {1}), 1.0);
}

TEST(Weighted, ReturningPoolDoesNotBankCredit) {
  policies::WeightedPolicy p;
  run(p, {{1, "A", 1, 1, 1ms}, {2, "B", 1, 1, 1ms}}, 2000, {true, false});  // B idle for long
  // B comes back: it gets its fair half from now on, not a burst of everything it "missed".
  auto used = run(p, {{1, "A", 1, 1, 1ms}, {2, "B", 1, 1, 1ms}}, 200);
  EXPECT_NEAR(share(used, {2}), 0.5, 0.05);
}
