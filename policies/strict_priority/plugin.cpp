// The plugin's one exported symbol: name, version and a factory that checks the settings.
#include "vgpu/sdk/plugin.hpp"
#include "strict_priority_policy.hpp"

namespace {

std::unique_ptr<vgpu::sdk::Policy> make_strict_priority_policy(const YAML::Node& settings,
                                                               const vgpu::sdk::PluginContext&) {
  vgpu::sdk::SettingsReader reader(settings);
  reader.reject_unknown_keys();  // no settings yet; aging arrives with the policy issue
  return std::make_unique<vgpu::policies::StrictPriorityPolicy>();
}

}  // namespace

VGPU_EXPORT_POLICY("strict_priority", "1.0.0", make_strict_priority_policy)
