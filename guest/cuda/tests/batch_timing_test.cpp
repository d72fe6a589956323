// VGPU_CUDA_TIMING's summary splits each round trip by the mediator's own figures.
#include <gtest/gtest.h>

#include "batch_timing.hpp"

namespace vgpu::guest::cuda {
namespace {

TEST(BatchTiming, SplitsTheRoundTripByWhereItWent) {
  BatchTiming t;
  EXPECT_EQ(t.summary(), "");
  for (int i = 0; i < 99; ++i) t.add(30'000, 2'000, 20'000, 0);
  t.add(900'000, 2'000, 20'000, 0);  // one slow batch: its time was outside the mediator
  const auto s = t.summary();
  EXPECT_NE(s.find("100 batches"), std::string::npos) << s;
  EXPECT_NE(s.find("round trip 30.0 / 900.0"), std::string::npos) << s;
  EXPECT_NE(s.find("queued in the mediator 2.0 / 2.0"), std::string::npos) << s;
  EXPECT_NE(s.find("in the executor 20.0 / 20.0"), std::string::npos) << s;
  EXPECT_NE(s.find("mediator's path) 8.0 / 878.0"), std::string::npos) << s;
  EXPECT_EQ(s.find("on the GPU"), std::string::npos) << "no GPU time was reported: " << s;
}

TEST(BatchTiming, AFigureLargerThanTheRoundTripLeavesNoNegativeRest) {
  BatchTiming t;
  t.add(10'000, 6'000, 6'000, 5'000);
  const auto s = t.summary();
  EXPECT_NE(s.find("mediator's path) 0.0 / 0.0"), std::string::npos) << s;
  EXPECT_NE(s.find("on the GPU 5.0 / 5.0"), std::string::npos) << s;
}

}  // namespace
}  // namespace vgpu::guest::cuda
