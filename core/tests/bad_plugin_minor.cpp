// A policy built for a newer minor version of this SDK: it may call services this core lacks,
// so the loader refuses it and says to update the mediator.
#include "vgpu/sdk/plugin.hpp"

extern "C" __attribute__((visibility("default")))
const vgpu::sdk::PluginDescriptor vgpu_plugin_v1{vgpu::sdk::kDescriptorMagic,
                                                 vgpu::sdk::kSdkMajor,
                                                 vgpu::sdk::kSdkMinor + 1,
                                                 vgpu::sdk::PluginKind::policy,
                                                 "badminor",
                                                 "0.0.0",
                                                 "",
                                                 {},
                                                 nullptr,
                                                 nullptr,
                                                 nullptr};
