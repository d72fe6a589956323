// The smallest useful out-of-tree policy: newest job first. It proves the installed SDK and
// its CMake package are enough to build a plugin the mediator loads.
#include <vector>

#include "vgpu/sdk/plugin.hpp"

namespace {

class LifoPolicy final : public vgpu::sdk::Policy {
 public:
  void enqueue(vgpu::sdk::JobPtr job) override { stack_.push_back(std::move(job)); }
  vgpu::sdk::JobPtr dispatch(const vgpu::sdk::SlotInfo&) override {
    if (stack_.empty()) return nullptr;
    auto job = std::move(stack_.back());
    stack_.pop_back();
    return job;
  }
  vgpu::sdk::JobPtr cancel(vgpu::sdk::JobId id) override {
    for (auto it = stack_.begin(); it != stack_.end(); ++it) {
      if ((*it)->id != id) continue;
      auto job = std::move(*it);
      stack_.erase(it);
      return job;
    }
    return nullptr;
  }
  std::size_t pending() const override { return stack_.size(); }

 private:
  std::vector<vgpu::sdk::JobPtr> stack_;
};

std::unique_ptr<vgpu::sdk::Policy> make_lifo(const YAML::Node& settings,
                                             const vgpu::sdk::PluginContext&) {
  vgpu::sdk::SettingsReader(settings).reject_unknown_keys();
  return std::make_unique<LifoPolicy>();
}

}  // namespace

VGPU_EXPORT_POLICY("lifo", "0.1.0", make_lifo)
