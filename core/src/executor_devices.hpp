// An executor entry's `devices:` (config.hpp, DeviceList): the settings of the instance for one
// device. The plugin must declare an integer setting `device` (the cuda and cpu executors do);
// the core sets it, so the plugin's own checks of the number apply.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>

#include "config.hpp"
#include "plugin_host/plugin_loader.hpp"

namespace vgpu::core {

// The entry's settings with `device` set. Throws ConfigFileError, located at the entry, when the
// plugin takes no `device` setting.
YAML::Node settings_for_device(const PluginSpec& spec, int device, const LoadedLibrary& library,
                               const std::string& source);

// How status and metrics name the instance: "cuda:1"; the plugin's name without `devices:`.
std::string device_name(const std::string& plugin, int device);

}  // namespace vgpu::core
