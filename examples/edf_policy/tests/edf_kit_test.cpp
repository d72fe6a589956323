// The vgpu policy test kit (every property a policy must have) and EDF's own order.
#include "vgpu/testkit/policy_kit.hpp"

using vgpu::testkit::PolicyKit;

INSTANTIATE_TEST_SUITE_P(Edf, PolicyKit,
                         ::testing::Values(vgpu::testkit::plugin_policy(EDF_PLUGIN)),
                         [](const auto&) { return std::string("edf"); });

TEST(Edf, EarliestDeadlineFirstThenNoDeadlineInArrivalOrder) {
  auto policy = vgpu::testkit::plugin_policy(EDF_PLUGIN).make();
  const auto now = vgpu::sdk::Clock::now();
  auto job = [&](vgpu::sdk::JobId id, int deadline_ms) {
    auto j = std::make_shared<vgpu::sdk::Job>();
    j->id = id;
    if (deadline_ms >= 0) j->deadline = now + std::chrono::milliseconds(deadline_ms);
    return j;
  };
  policy->enqueue(job(1, -1));
  policy->enqueue(job(2, 50));
  policy->enqueue(job(3, 10));
  policy->enqueue(job(4, -1));
  policy->enqueue(job(5, 30));
  std::vector<vgpu::sdk::JobId> order;
  while (auto j = policy->dispatch({})) order.push_back(j->id);
  EXPECT_EQ(order, (std::vector<vgpu::sdk::JobId>{3, 5, 2, 1, 4}));
}
