// A policy plugin for the multi-device tests: arrival order (like fifo), and the Placement role
// (SDK 1.2) answering one fixed device, so a test can tell its decisions from the core's default.
// Depends only on the SDK, like any plugin.
#include "vgpu/sdk/fifo_queue.hpp"
#include "vgpu/sdk/placement.hpp"
#include "vgpu/sdk/plugin.hpp"

namespace {

using namespace vgpu::sdk;

class FixedPlacementPolicy final : public Policy, public Placement {
 public:
  explicit FixedPlacementPolicy(std::size_t device) : device_(device) {}
  void enqueue(JobPtr job) override { queue_.push(std::move(job)); }
  JobPtr dispatch(const SlotInfo&) override { return queue_.pop(); }
  JobPtr cancel(JobId id) override { return queue_.remove(id); }
  std::size_t pending() const override { return queue_.size(); }
  std::optional<std::size_t> place(const Tenant&, const std::vector<DeviceLoad>&) override {
    return device_;
  }

 private:
  std::size_t device_;
  FifoQueue queue_;
};

constexpr SettingSpec kSettings[] = {
    {"place_on", SettingType::integer, 0, 63, "0", "the device every VM is placed on", nullptr},
};

std::unique_ptr<Policy> make_policy(const Settings& settings, const PluginContext&) {
  return std::make_unique<FixedPlacementPolicy>(
      static_cast<std::size_t>(settings.integer("place_on")));
}

}  // namespace

VGPU_EXPORT_POLICY("test_placement", "1.0.0", "fifo order; places every VM on one device (tests)",
                   schema_of(kSettings), make_policy)
