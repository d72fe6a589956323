// Partition planning and quota accounting: pure host logic, tested without a GPU.
#include <gtest/gtest.h>

#include "memory_ledger.hpp"
#include "partition_plan.hpp"

using namespace vgpu::executors::cuda;

TEST(PartitionPlan, RoundsUpToWholeGroupsAndLeavesTheRestShared) {
  // An H100: 132 SMs, split by the driver into 16 groups of 8 (4 SMs left out).
  PartitionRequest request{16, {{"A", 60}, {"B", 40}}};
  const auto plan = plan_partitions(request, 16, 8);
  ASSERT_EQ(plan.partitions.size(), 4u);
  EXPECT_EQ(plan.partitions[0].name, "high");
  EXPECT_EQ(plan.partitions[0].sms, 16u);
  EXPECT_EQ(plan.find("pool A")->sms, 64u) << "60 rounds up to 8 groups";
  EXPECT_EQ(plan.find("pool B")->sms, 40u);
  EXPECT_EQ(plan.find("shared")->sms, 8u);
}

TEST(PartitionPlan, NoSharedPartitionWhenPoolsTakeEverything) {
  const auto plan = plan_partitions({0, {{"A", 64}, {"B", 64}}}, 16, 8);
  EXPECT_EQ(plan.find("shared"), nullptr);
  EXPECT_EQ(partition_for(plan, "A", true), "pool A") << "no reserve: high runs in its pool";
  EXPECT_EQ(partition_for(plan, "C", false), "") << "an unlisted pool has nowhere to run";
}

TEST(PartitionPlan, RoutesHighPriorityToTheReserve) {
  const auto plan = plan_partitions({16, {{"A", 64}}}, 16, 8);
  EXPECT_EQ(partition_for(plan, "A", true), "high");
  EXPECT_EQ(partition_for(plan, "A", false), "pool A");
  EXPECT_EQ(partition_for(plan, "B", false), "shared");
}

TEST(PartitionPlan, OversubscriptionNamesTheSetting) {
  try {
    plan_partitions({16, {{"A", 64}, {"B", 64}}}, 16, 8);
    FAIL() << "128 + 16 SMs cannot fit in 128";
  } catch (const PartitionError& e) {
    EXPECT_NE(std::string(e.what()).find("pool_sms.B"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("only 48"), std::string::npos) << e.what();
  }
  EXPECT_THROW(plan_partitions({0, {{"A", 0}}}, 16, 8), PartitionError);
}

TEST(MemoryLedger, RefusesWhatWouldExceedTheQuotaAndNamesTheFigures) {
  MemoryLedger ledger;
  const std::uint64_t mib = 1 << 20;
  EXPECT_FALSE(ledger.reserve(3, 60 * mib, 100 * mib));
  auto refused = ledger.reserve(3, 50 * mib, 100 * mib);
  ASSERT_TRUE(refused);
  EXPECT_NE(refused->find("needs 50.0 MiB"), std::string::npos) << *refused;
  EXPECT_NE(refused->find("has 60.0 MiB of its 100.0 MiB"), std::string::npos) << *refused;
  EXPECT_FALSE(ledger.reserve(4, 90 * mib, 100 * mib)) << "another VM's use does not count";
  EXPECT_FALSE(ledger.reserve(5, 1000 * mib, 0)) << "0 means no quota";
  { Reservation held(ledger, 3, 0); }
  ledger.release(3, 60 * mib);
  EXPECT_EQ(ledger.in_use(3), 0u);
  EXPECT_FALSE(ledger.reserve(3, 100 * mib, 100 * mib)) << "released memory is free again";
}
