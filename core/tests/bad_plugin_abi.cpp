// A policy built for a future ABI: the loader must refuse it and name both versions.
#include "vgpu/sdk/plugin.hpp"

extern "C" __attribute__((visibility("default")))
const vgpu::sdk::PluginDescriptor vgpu_plugin_descriptor{vgpu::sdk::kAbiVersion + 41,
                                                         vgpu::sdk::PluginKind::policy,
                                                         "badabi",
                                                         "0.0.0",
                                                         nullptr,
                                                         nullptr,
                                                         nullptr};
