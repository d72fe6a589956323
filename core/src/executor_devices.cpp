#include "executor_devices.hpp"

#include <cstring>

namespace vgpu::core {

YAML::Node settings_for_device(const PluginSpec& spec, int device, const LoadedLibrary& library,
                               const std::string& source) {
  const auto schema = library.schema();
  bool takes_device = false;
  for (std::size_t i = 0; i < schema.count; ++i)
    takes_device = takes_device || (std::strcmp(schema.specs[i].name, "device") == 0 &&
                                    schema.specs[i].type == sdk::SettingType::integer);
  if (!takes_device) {
    const auto mark = spec.settings.Mark();
    throw ConfigFileError(located(source, mark.line + 1, mark.column + 1,
                                  "executor '" + spec.name +
                                      "' has no integer setting 'device', so 'devices' cannot "
                                      "make one instance per device"));
  }
  YAML::Node settings = YAML::Clone(spec.settings);
  settings["device"] = device;
  return settings;
}

std::string device_name(const std::string& plugin, int device) {
  return device < 0 ? plugin : plugin + ":" + std::to_string(device);
}

}  // namespace vgpu::core
