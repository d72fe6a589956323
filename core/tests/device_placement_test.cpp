// Where a VM's jobs go when the mediator drives several devices: pins, the policy's Placement
// role, the least loaded default, and a VM staying put while it has jobs.
#include "device_placement.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

using namespace vgpu;
using vgpu::core::DevicePin;
using vgpu::core::DevicePlacement;

namespace {

struct RecordingLog : sdk::Logger {
  std::vector<std::string> lines;
  void log(sdk::LogLevel, std::string_view line) override { lines.emplace_back(line); }
};

sdk::Tenant vm(std::uint32_t id, int priority = 1) {
  return sdk::Tenant{id, "A", priority, 1, 1};
}

// A placement role that answers what the test says, and records what it was shown.
struct ScriptedPlacement : sdk::Placement {
  std::optional<std::size_t> answer;
  bool throw_instead = false;
  std::vector<sdk::DeviceLoad> seen;
  std::optional<std::size_t> place(const sdk::Tenant&,
                                   const std::vector<sdk::DeviceLoad>& devices) override {
    seen = devices;
    if (throw_instead) throw std::runtime_error("placement exploded");
    return answer;
  }
};

class DevicePlacementTest : public ::testing::Test {
 protected:
  std::vector<sdk::DeviceLoad> loads_{{0, "cpu:0", 2}, {1, "cpu:1", 2}, {2, "cpu:2", 2}};
  RecordingLog log_;
  DevicePlacement placement_{3, [this] { return loads_; }, log_};

  std::size_t acquire(const sdk::Tenant& t, std::optional<DevicePin> pin = std::nullopt) {
    auto where = placement_.acquire(t, pin);
    if (auto* why = std::get_if<std::string>(&where)) throw std::runtime_error(*why);
    return std::get<std::size_t>(where);
  }
};

TEST_F(DevicePlacementTest, TheLeastLoadedUsableDeviceTakesANewVm) {
  loads_[0].running = 2;
  loads_[1].queued = 1;
  EXPECT_EQ(acquire(vm(1)), 2u) << "device 2 is idle";
  loads_[2].running = 2;
  loads_[2].queued = 3;
  EXPECT_EQ(acquire(vm(2)), 1u) << "1 job per 2 slots beats 2 and 5";
  loads_[1].usable = false;
  loads_[0].running = 2;
  loads_[2].queued = 5;
  EXPECT_EQ(acquire(vm(3)), 0u) << "an unusable device is passed over, however idle";
}

TEST_F(DevicePlacementTest, AtEqualLoadTheDeviceWithFewerVmsWins) {
  EXPECT_EQ(acquire(vm(1)), 0u);
  EXPECT_EQ(acquire(vm(2)), 1u) << "device 0 has a VM already";
  EXPECT_EQ(acquire(vm(3)), 2u);
  EXPECT_EQ(placement_.vms_per_device(), (std::vector<std::size_t>{1, 1, 1}));
}

TEST_F(DevicePlacementTest, AVmStaysOnItsDeviceUntilItsLastJobLeaves) {
  EXPECT_EQ(acquire(vm(1)), 0u);
  loads_[0].running = 2;  // now the busiest
  EXPECT_EQ(acquire(vm(1)), 0u) << "its second job follows the first, for order";
  EXPECT_EQ(acquire(vm(1), DevicePin{2, "vms.device"}), 0u)
      << "a pin set while jobs run applies once they are done";
  placement_.release(1);
  placement_.release(1);
  EXPECT_EQ(placement_.device_of(1), 0u);
  placement_.release(1);
  EXPECT_FALSE(placement_.device_of(1)) << "idle: placed afresh by its next job";
  EXPECT_EQ(acquire(vm(1)), 1u);
  EXPECT_EQ(placement_.vms_per_device(), (std::vector<std::size_t>{0, 1, 0}));
  placement_.release(99);  // an unknown VM is ignored
}

TEST_F(DevicePlacementTest, APinWinsAndAPinPastTheDevicesIsRefusedWithItsSource) {
  loads_[2].running = 10;
  EXPECT_EQ(acquire(vm(1), DevicePin{2, "vms.device"}), 2u);
  auto where = placement_.acquire(vm(2), DevicePin{7, "pools.device of pool A"});
  ASSERT_TRUE(std::holds_alternative<std::string>(where));
  EXPECT_EQ(std::get<std::string>(where),
            "vm_id 2 is pinned to device 7 (pools.device of pool A), but this mediator drives "
            "devices 0 to 2");
  EXPECT_FALSE(placement_.device_of(2)) << "a refused job is not counted";
}

TEST_F(DevicePlacementTest, ThePolicysPlacementDecidesAndSeesTheLoads) {
  ScriptedPlacement placer;
  placer.answer = 2;
  placement_.set_placer(&placer);
  loads_[1].queued = 4;
  EXPECT_EQ(acquire(vm(1)), 2u);
  ASSERT_EQ(placer.seen.size(), 3u);
  EXPECT_EQ(placer.seen[1].queued, 4u);
  EXPECT_EQ(placer.seen[2].name, "cpu:2");
  EXPECT_EQ(placer.seen[2].index, 2u);
  EXPECT_EQ(acquire(vm(2)), 2u);
  EXPECT_EQ(placer.seen[2].vms, 1u) << "it is told how many VMs each device has";
  placer.answer.reset();
  EXPECT_EQ(acquire(vm(3)), 0u) << "no answer: the default";
  EXPECT_TRUE(log_.lines.empty());
}

TEST_F(DevicePlacementTest, AWrongOrThrowingPlacementFallsBackToTheDefaultAndIsLoggedOnce) {
  ScriptedPlacement placer;
  placer.answer = 9;
  placement_.set_placer(&placer);
  EXPECT_EQ(acquire(vm(1)), 0u);
  EXPECT_EQ(acquire(vm(2)), 1u);
  ASSERT_EQ(log_.lines.size(), 1u);
  EXPECT_NE(log_.lines[0].find("answered device 9, which does not exist"), std::string::npos)
      << log_.lines[0];
  loads_[2].usable = false;
  placer.answer = 2;
  placement_.set_placer(&placer);  // a new placer is logged afresh
  EXPECT_EQ(acquire(vm(3)), 0u);
  ASSERT_EQ(log_.lines.size(), 2u);
  EXPECT_NE(log_.lines[1].find("which is unusable"), std::string::npos) << log_.lines[1];
  placer.throw_instead = true;
  placement_.set_placer(&placer);
  EXPECT_EQ(acquire(vm(4)), 1u);
  ASSERT_EQ(log_.lines.size(), 3u);
  EXPECT_NE(log_.lines[2].find("threw: placement exploded"), std::string::npos) << log_.lines[2];
}

TEST(DevicePlacementOne, OneDeviceNeedsNoLoadsAndNoPolicy) {
  RecordingLog log;
  bool asked = false;
  DevicePlacement one(
      1,
      [&] {
        asked = true;
        return std::vector<sdk::DeviceLoad>{};
      },
      log);
  auto where = one.acquire(vm(5), std::nullopt);
  EXPECT_EQ(std::get<std::size_t>(where), 0u);
  EXPECT_FALSE(asked) << "nothing to choose between";
  auto pinned = one.acquire(vm(6), DevicePin{1, "vms.device"});
  EXPECT_EQ(std::get<std::string>(pinned),
            "vm_id 6 is pinned to device 1 (vms.device), but this mediator drives only device 0");
}

}  // namespace
