// Finds plugins by kind and name in the plugin folders, loads them with Boost.DLL, checks what
// they were built for, and makes their objects: an SDK 1.x plugin through its declared settings
// schema, a plugin of ABI 5 (before SDK 1.0) through the factory it was compiled with.
#pragma once

#include <yaml-cpp/yaml.h>

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "legacy_abi5.hpp"
#include "vgpu/sdk/plugin.hpp"

namespace vgpu::core {

class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A loaded library and what it declares. Held by every object it made, so the code stays mapped
// for as long as any of them lives.
class LoadedLibrary {
 public:
  const std::filesystem::path& file() const { return file_; }
  sdk::PluginKind kind() const { return kind_; }
  const std::string& name() const { return name_; }
  const std::string& version() const { return version_; }
  std::string summary() const;
  // "SDK 1.0", or "plugin ABI 5" for a plugin built before SDK 1.0.
  std::string built_for() const;
  // The declared settings; empty for an ABI 5 plugin (it checks its own).
  sdk::SettingsSchema schema() const;

  // Make the plugin's object from its YAML entry. Throws sdk::ConfigError for bad settings,
  // and whatever the factory throws (sdk::ExecutorUnavailable).
  std::unique_ptr<sdk::Policy> make_policy(const YAML::Node& settings,
                                           const sdk::PluginContext& ctx) const;
  std::unique_ptr<sdk::Executor> make_executor(const YAML::Node& settings,
                                               const sdk::PluginContext& ctx) const;
  std::unique_ptr<sdk::Transport> make_transport(const YAML::Node& settings,
                                                 const sdk::PluginContext& ctx) const;

 private:
  friend class PluginLoader;
  template <typename T, typename Factory, typename LegacyFactory>
  std::unique_ptr<T> make(const YAML::Node& settings, const sdk::PluginContext& ctx,
                          Factory factory, LegacyFactory legacy_factory) const;

  boost::dll::shared_library library_;
  std::filesystem::path file_;
  const sdk::PluginDescriptor* descriptor_ = nullptr;  // SDK 1.x
  const legacy::DescriptorV5* legacy_ = nullptr;       // plugin ABI 5
  sdk::PluginKind kind_{};
  std::string name_;
  std::string version_;
};

// An object made by a plugin. Members are destroyed in reverse order: the object first, then
// the context it may refer to, then (possibly) the library that holds its code.
template <typename T>
struct PluginInstance {
  std::shared_ptr<LoadedLibrary> library;
  std::unique_ptr<sdk::PluginContext> context;
  std::unique_ptr<T> object;
  PluginInstance() = default;
  PluginInstance(PluginInstance&&) noexcept = default;
  PluginInstance& operator=(PluginInstance&& other) noexcept {
    object.reset();
    context = std::move(other.context);
    library = std::move(other.library);
    object = std::move(other.object);
    return *this;
  }
  ~PluginInstance() { object.reset(); }
  T* operator->() const { return object.get(); }
  T& operator*() const { return *object; }
};

class PluginLoader {
 public:
  enum Search { with_defaults, only };
  // `only`: search just `dirs`, not the default folders too.
  explicit PluginLoader(std::vector<std::filesystem::path> dirs, Search search = with_defaults);

  // The folders searched: the configured ones, $VGPU_PLUGIN_PATH, then next to the program.
  static std::vector<std::filesystem::path> default_dirs();
  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }

  static std::string file_name(sdk::PluginKind kind, const std::string& name);

  std::shared_ptr<LoadedLibrary> load(sdk::PluginKind kind, const std::string& name);
  // Loads one file and checks it is a vgpu plugin of `kind` named `name`, built for an SDK this
  // core can run.
  static std::shared_ptr<LoadedLibrary> load_file(const std::filesystem::path& file,
                                                  sdk::PluginKind kind, const std::string& name);
  // Every plugin file in the folders (the first of each name), loaded: for the configuration
  // reference.
  std::vector<std::shared_ptr<LoadedLibrary>> load_all();

 private:
  std::vector<std::filesystem::path> dirs_;
};

}  // namespace vgpu::core
