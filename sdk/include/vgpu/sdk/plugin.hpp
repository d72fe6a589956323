// The one symbol every plugin exports, and the macros that define it.
//
// A plugin is a shared library named libvgpu-<kind>-<name>.so exporting one PluginDescriptor as
// `vgpu_plugin_v1`. The core reads it once at load: it checks the SDK version, the kind and the
// name, checks the operator's settings against the declared schema, then calls the factory.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>

#include "vgpu/sdk/context.hpp"
#include "vgpu/sdk/executor.hpp"
#include "vgpu/sdk/policy.hpp"
#include "vgpu/sdk/settings.hpp"
#include "vgpu/sdk/transport.hpp"
#include "vgpu/sdk/version.hpp"

namespace vgpu::sdk {

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

// A plugin's declared settings: a static array of SettingSpec and its length.
struct SettingsSchema {
  const SettingSpec* specs = nullptr;
  std::size_t count = 0;
};

template <std::size_t N>
constexpr SettingsSchema schema_of(const SettingSpec (&specs)[N]) {
  return {specs, N};
}
template <std::size_t N>
constexpr SettingsSchema schema_of(const std::array<SettingSpec, N>& specs) {
  return {specs.data(), N};
}

// One schema from several lists, e.g. a transport's own settings and those every stream
// transport shares: constexpr auto kSettings = sdk::join_settings(kMine, kShared);
template <std::size_t A, std::size_t B>
constexpr std::array<SettingSpec, A + B> join_settings(const SettingSpec (&a)[A],
                                                       const std::array<SettingSpec, B>& b) {
  std::array<SettingSpec, A + B> out{};
  for (std::size_t i = 0; i < A; ++i) out[i] = a[i];
  for (std::size_t i = 0; i < B; ++i) out[A + i] = b[i];
  return out;
}
template <std::size_t A, std::size_t B>
constexpr std::array<SettingSpec, A + B> join_settings(const SettingSpec (&a)[A],
                                                       const SettingSpec (&b)[B]) {
  return join_settings(a, std::to_array(b));
}

inline constexpr std::uint32_t kDescriptorMagic = 0x56475055;  // "UPGV"

// Plain data, frozen for SDK major 1. Exactly one factory is set, the one matching `kind`.
// A factory is called on the core's main thread, once per configured instance, after the
// settings passed the schema; it throws ConfigError for a value the schema cannot judge (use
// Settings::reject) and, for an executor whose hardware is absent, ExecutorUnavailable. Any
// other exception stops the mediator with the message.
struct PluginDescriptor {
  std::uint32_t magic;
  std::uint16_t sdk_major;
  std::uint16_t sdk_minor;
  PluginKind kind;
  const char* name;
  const char* version;  // the plugin's own version, for logs
  const char* summary;  // one line for the configuration reference
  SettingsSchema settings;
  std::unique_ptr<Transport> (*make_transport)(const Settings&, const PluginContext&);
  std::unique_ptr<Policy> (*make_policy)(const Settings&, const PluginContext&);
  std::unique_ptr<Executor> (*make_executor)(const Settings&, const PluginContext&);
};

inline constexpr const char* kDescriptorSymbol = "vgpu_plugin_v1";

}  // namespace vgpu::sdk

// A plain extern "C" symbol is what BOOST_DLL_ALIAS produces; defining it directly keeps the SDK
// free of Boost, while the core still loads it with boost::dll::shared_library.
#define VGPU_DETAIL_EXPORT_PLUGIN(kind_, name_, version_, summary_, schema_, transport_, policy_, \
                                  executor_)                                                      \
  extern "C" __attribute__((visibility("default")))                                               \
  const ::vgpu::sdk::PluginDescriptor vgpu_plugin_v1{::vgpu::sdk::kDescriptorMagic,               \
                                                     ::vgpu::sdk::kSdkMajor,                      \
                                                     ::vgpu::sdk::kSdkMinor,                      \
                                                     kind_,                                       \
                                                     name_,                                       \
                                                     version_,                                    \
                                                     summary_,                                    \
                                                     schema_,                                     \
                                                     transport_,                                  \
                                                     policy_,                                     \
                                                     executor_};

// Usage, in the plugin's plugin.cpp:
//   constexpr vgpu::sdk::SettingSpec kSettings[] = {{"aging_ms", ...}};
//   std::unique_ptr<vgpu::sdk::Policy> make_mine(const Settings&, const PluginContext&);
//   VGPU_EXPORT_POLICY("mine", "1.0.0", "one line", vgpu::sdk::schema_of(kSettings), make_mine)
// A plugin without settings passes vgpu::sdk::SettingsSchema{}.
#define VGPU_EXPORT_POLICY(name, version, summary, schema, factory)                          \
  VGPU_DETAIL_EXPORT_PLUGIN(::vgpu::sdk::PluginKind::policy, name, version, summary, schema, \
                            nullptr, factory, nullptr)
#define VGPU_EXPORT_EXECUTOR(name, version, summary, schema, factory)                          \
  VGPU_DETAIL_EXPORT_PLUGIN(::vgpu::sdk::PluginKind::executor, name, version, summary, schema, \
                            nullptr, nullptr, factory)
#define VGPU_EXPORT_TRANSPORT(name, version, summary, schema, factory)                          \
  VGPU_DETAIL_EXPORT_PLUGIN(::vgpu::sdk::PluginKind::transport, name, version, summary, schema, \
                            factory, nullptr, nullptr)
