// A transport-kind plugin, for the loader's wrong-kind error.
#include "vgpu/sdk/plugin.hpp"

namespace {
std::unique_ptr<vgpu::sdk::Transport> make(const vgpu::sdk::Settings&,
                                           const vgpu::sdk::PluginContext&) {
  return nullptr;
}
}  // namespace

VGPU_EXPORT_TRANSPORT("badkind", "0.0.0", "", vgpu::sdk::SettingsSchema{}, make)
