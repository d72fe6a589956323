// A policy built for a future SDK major version: the loader must refuse it and name both.
#include "vgpu/sdk/plugin.hpp"

extern "C" __attribute__((visibility("default")))
const vgpu::sdk::PluginDescriptor vgpu_plugin_v1{vgpu::sdk::kDescriptorMagic,
                                                 vgpu::sdk::kSdkMajor + 1,
                                                 0,
                                                 vgpu::sdk::PluginKind::policy,
                                                 "badmajor",
                                                 "0.0.0",
                                                 "",
                                                 {},
                                                 nullptr,
                                                 nullptr,
                                                 nullptr};
