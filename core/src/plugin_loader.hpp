// Finds plugins by kind and name in the plugin folders and loads them with Boost.DLL.
#pragma once

#include <boost/dll/shared_library.hpp>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "vgpu/sdk/plugin.hpp"

namespace vgpu::core {

class PluginLoadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A loaded library and its descriptor. Held by every object it made, so the code stays mapped
// for as long as any of them lives.
struct LoadedLibrary {
  boost::dll::shared_library library;
  const sdk::PluginDescriptor* descriptor = nullptr;
  std::filesystem::path file;
};

// An object made by a plugin. Members are destroyed in reverse order: the object first, then
// (possibly) the library that holds its code.
template <typename T>
struct PluginInstance {
  std::shared_ptr<LoadedLibrary> library;
  std::unique_ptr<T> object;
  PluginInstance() = default;
  PluginInstance(PluginInstance&&) noexcept = default;
  PluginInstance& operator=(PluginInstance&& other) noexcept {
    object.reset();
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
  explicit PluginLoader(std::vector<std::filesystem::path> dirs);

  // The folders searched: the configured ones, $VGPU_PLUGIN_PATH, then next to the program.
  static std::vector<std::filesystem::path> default_dirs();
  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }

  static std::string file_name(sdk::PluginKind kind, const std::string& name);

  std::shared_ptr<LoadedLibrary> load(sdk::PluginKind kind, const std::string& name);
  // Loads one file and checks it is a vgpu plugin of `kind` named `name`.
  static std::shared_ptr<LoadedLibrary> load_file(const std::filesystem::path& file,
                                                  sdk::PluginKind kind, const std::string& name);

 private:
  std::vector<std::filesystem::path> dirs_;
};

}  // namespace vgpu::core
