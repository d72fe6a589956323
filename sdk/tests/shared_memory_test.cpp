#include "vgpu/sdk/shared_memory.hpp"

#include <gtest/gtest.h>

using namespace vgpu::sdk;

namespace {

// A region in ordinary memory: settle_outputs only needs bytes at an address.
class HeapRegion final : public SharedRegion {
 public:
  explicit HeapRegion(std::size_t size) : bytes_(size, 0xEE) {}
  std::uint8_t* base() const override { return const_cast<std::uint8_t*>(bytes_.data()); }
  std::size_t size() const override { return bytes_.size(); }
  const std::string& name() const override { return name_; }

 private:
  std::vector<std::uint8_t> bytes_;
  std::string name_ = "heap region";
};

JobResult with_outputs(std::vector<Buffer> outputs) {
  JobResult r;
  r.outputs = std::move(outputs);
  return r;
}

}  // namespace

TEST(SettleOutputs, MovesEachOutputToItsPlace) {
  auto region = std::make_shared<HeapRegion>(64);
  std::vector<OutputPlace> places{{region, 8, 4}, {region, 32, 16}};
  auto r = with_outputs({{1, 2, 3}, {4, 5}});
  settle_outputs(places, r);
  ASSERT_EQ(r.status, Status::ok) << r.message;
  EXPECT_TRUE(r.outputs.empty());
  EXPECT_EQ(r.placed_sizes, (std::vector<std::uint64_t>{3, 2}));
  EXPECT_EQ(region->base()[8], 1);
  EXPECT_EQ(region->base()[10], 3);
  EXPECT_EQ(region->base()[11], 0xEE);  // nothing past the output is touched
  EXPECT_EQ(region->base()[33], 5);
}

TEST(SettleOutputs, AnOutputLargerThanItsPlaceFailsTheJobAndWritesNothing) {
  auto region = std::make_shared<HeapRegion>(64);
  std::vector<OutputPlace> places{{region, 0, 8}, {region, 8, 2}};
  auto r = with_outputs({{1, 2}, {3, 4, 5}});
  settle_outputs(places, r);
  EXPECT_EQ(r.status, Status::bad_request);
  EXPECT_NE(r.message.find("output 1 is 3 bytes but its place in shared memory holds 2"),
            std::string::npos)
      << r.message;
  EXPECT_EQ(region->base()[0], 0xEE);
}

TEST(SettleOutputs, MoreOutputsThanPlacesFailsTheJob) {
  auto region = std::make_shared<HeapRegion>(64);
  auto r = with_outputs({{1}, {2}});
  settle_outputs({{region, 0, 8}}, r);
  EXPECT_EQ(r.status, Status::bad_request);
  EXPECT_NE(r.message.find("returned 2 outputs"), std::string::npos) << r.message;
}

TEST(SettleOutputs, LeavesAloneWhatNeedsNothing) {
  auto region = std::make_shared<HeapRegion>(64);
  auto plain = with_outputs({{1, 2}});
  settle_outputs({}, plain);  // no places: outputs travel through the transport
  EXPECT_EQ(plain.outputs.size(), 1u);
  EXPECT_TRUE(plain.placed_sizes.empty());

  auto placed = with_outputs({});
  placed.placed_sizes = {4};  // the executor wrote it there itself
  settle_outputs({{region, 0, 8}}, placed);
  EXPECT_EQ(placed.placed_sizes, (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(region->base()[0], 0xEE);

  auto failed = JobResult::failure(Status::execution_error, "boom");
  settle_outputs({{region, 0, 8}}, failed);
  EXPECT_EQ(failed.status, Status::execution_error);
  EXPECT_EQ(failed.message, "boom");
}
