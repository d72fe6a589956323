// The one symbol every plugin exports, and the macros that define it.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <memory>

#include "vgpu/sdk/context.hpp"
#include "vgpu/sdk/executor.hpp"
#include "vgpu/sdk/policy.hpp"
#include "vgpu/sdk/settings.hpp"
#include "vgpu/sdk/transport.hpp"

namespace vgpu::sdk {

// Bumped whenever an interface, the job model or this descriptor changes layout. The loader
// refuses a plugin built against another value, naming both.
inline constexpr std::uint32_t kAbiVersion =
    5;  // 2: quota, admission; 3: started(), registered_vms(); 4: Executor::unusable();
        // 5: shared memory (Job::output_places, JobResult::placed_sizes)

enum class PluginKind : std::uint32_t { transport = 1, policy = 2, executor = 3 };

inline const char* to_string(PluginKind kind) {
  switch (kind) {
    case PluginKind::transport:
      return "transport";
    case PluginKind::policy:
      return "policy";
    case PluginKind::executor:
      return "executor";
  }
  return "unknown";
}

// Exactly one factory is set, the one matching `kind`. A factory gets the plugin's own YAML node
// and throws ConfigError (naming the key) for bad settings.
struct PluginDescriptor {
  std::uint32_t abi_version;
  PluginKind kind;
  const char* name;
  const char* version;
  std::unique_ptr<Transport> (*make_transport)(const YAML::Node&, const PluginContext&);
  std::unique_ptr<Policy> (*make_policy)(const YAML::Node&, const PluginContext&);
  std::unique_ptr<Executor> (*make_executor)(const YAML::Node&, const PluginContext&);
};

inline constexpr const char* kDescriptorSymbol = "vgpu_plugin_descriptor";

}  // namespace vgpu::sdk

// A plain extern "C" symbol is what BOOST_DLL_ALIAS produces; defining it directly keeps the SDK
// free of Boost, while the core still loads it with boost::dll::shared_library.
#define VGPU_DETAIL_EXPORT_PLUGIN(kind_, name_, version_, transport_, policy_, executor_) \
  extern "C" __attribute__((visibility("default")))                                       \
  const ::vgpu::sdk::PluginDescriptor vgpu_plugin_descriptor{                             \
      ::vgpu::sdk::kAbiVersion, kind_, name_, version_, transport_, policy_, executor_};

// Usage: VGPU_EXPORT_POLICY("fifo", "1.0.0", make_fifo_policy) where
// std::unique_ptr<vgpu::sdk::Policy> make_fifo_policy(const YAML::Node&, const PluginContext&).
#define VGPU_EXPORT_POLICY(name, version, factory)                                            \
  VGPU_DETAIL_EXPORT_PLUGIN(::vgpu::sdk::PluginKind::policy, name, version, nullptr, factory, \
                            nullptr)
#define VGPU_EXPORT_EXECUTOR(name, version, factory)                                            \
  VGPU_DETAIL_EXPORT_PLUGIN(::vgpu::sdk::PluginKind::executor, name, version, nullptr, nullptr, \
                            factory)
#define VGPU_EXPORT_TRANSPORT(name, version, factory)                                            \
  VGPU_DETAIL_EXPORT_PLUGIN(::vgpu::sdk::PluginKind::transport, name, version, factory, nullptr, \
                            nullptr)
