// Plugin ABI 5, the last before SDK 1.0, as its plugins were compiled: the descriptor they export
// and the context their factories take. Frozen: these are the layouts those binaries expect.
// Their policies and executors use interfaces and structs that SDK 1.0 kept unchanged
// (vgpu/sdk/version.hpp), so the objects they make are used as they are; only the factory call
// goes through here.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vgpu/sdk/plugin.hpp"

namespace vgpu::core::legacy {

inline constexpr std::uint32_t kAbi5 = 5;
inline constexpr const char* kDescriptorSymbolV5 = "vgpu_plugin_descriptor";

struct ContextV5 {
  sdk::Logger& logger;
  sdk::Metrics& metrics;
  std::function<sdk::Clock::time_point()> now;
  std::string instance_name;
};

struct DescriptorV5 {
  std::uint32_t abi_version;
  sdk::PluginKind kind;
  const char* name;
  const char* version;
  std::unique_ptr<sdk::Transport> (*make_transport)(const YAML::Node&, const ContextV5&);
  std::unique_ptr<sdk::Policy> (*make_policy)(const YAML::Node&, const ContextV5&);
  std::unique_ptr<sdk::Executor> (*make_executor)(const YAML::Node&, const ContextV5&);
};

}  // namespace vgpu::core::legacy
