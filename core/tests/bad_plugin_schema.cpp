// A policy whose declared default lies outside its own range: a plugin bug the loader reports
// at load, before any operator's setting is read.
#include "vgpu/sdk/plugin.hpp"

namespace {
constexpr vgpu::sdk::SettingSpec kSettings[] = {
    {"depth", vgpu::sdk::SettingType::integer, 1, 10, "99", "how deep", nullptr},
};
std::unique_ptr<vgpu::sdk::Policy> make(const vgpu::sdk::Settings&,
                                        const vgpu::sdk::PluginContext&) {
  return nullptr;
}
}  // namespace

VGPU_EXPORT_POLICY("badschema", "0.0.0", "", vgpu::sdk::schema_of(kSettings), make)
