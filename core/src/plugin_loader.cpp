#include "plugin_loader.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

#include <cstdlib>
#include <sstream>

namespace vgpu::core {

PluginLoader::PluginLoader(std::vector<std::filesystem::path> dirs) : dirs_(std::move(dirs)) {
  for (auto& d : default_dirs()) dirs_.push_back(std::move(d));
}

std::vector<std::filesystem::path> PluginLoader::default_dirs() {
  std::vector<std::filesystem::path> dirs;
  if (const char* env = std::getenv("VGPU_PLUGIN_PATH")) {
    std::stringstream list(env);
    std::string dir;
    while (std::getline(list, dir, ':'))
      if (!dir.empty()) dirs.emplace_back(dir);
  }
  // The program lives in bin/: plugins are in ../plugins in the build tree and in
  // ../lib/vgpu/plugins after `cmake --install`.
  const auto bin = boost::dll::program_location().parent_path();
  dirs.push_back(bin.parent_path() / "plugins");
  dirs.push_back(bin.parent_path() / "lib" / "vgpu" / "plugins");
  return dirs;
}

std::string PluginLoader::file_name(sdk::PluginKind kind, const std::string& name) {
  return std::string("libvgpu-") + sdk::to_string(kind) + "-" + name + ".so";
}

std::shared_ptr<LoadedLibrary> PluginLoader::load(sdk::PluginKind kind, const std::string& name) {
  const auto file = file_name(kind, name);
  for (const auto& dir : dirs_) {
    const auto candidate = dir / file;
    if (std::filesystem::exists(candidate)) return load_file(candidate, kind, name);
  }
  std::string searched;
  for (const auto& dir : dirs_) searched += "\n  " + dir.string();
  throw PluginLoadError(std::string(sdk::to_string(kind)) + " plugin '" + name +
                        "' not found: no " + file + " in any plugin folder:" + searched);
}

std::shared_ptr<LoadedLibrary> PluginLoader::load_file(const std::filesystem::path& file,
                                                       sdk::PluginKind kind,
                                                       const std::string& name) {
  auto loaded = std::make_shared<LoadedLibrary>();
  loaded->file = std::filesystem::absolute(file);
  const std::string where = loaded->file.string();
  try {
    loaded->library.load(loaded->file,
                         boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw PluginLoadError(where + ": cannot load: " + e.what());
  }
  if (!loaded->library.has(sdk::kDescriptorSymbol))
    throw PluginLoadError(where + ": not a vgpu plugin: it exports no '" +
                          std::string(sdk::kDescriptorSymbol) + "' symbol");
  const auto& d = loaded->library.get<const sdk::PluginDescriptor>(sdk::kDescriptorSymbol);
  if (d.abi_version != sdk::kAbiVersion)
    throw PluginLoadError(where + ": built for plugin ABI " + std::to_string(d.abi_version) +
                          ", but this mediator speaks ABI " + std::to_string(sdk::kAbiVersion) +
                          ": rebuild the plugin against this SDK");
  if (d.kind != kind)
    throw PluginLoadError(where + ": is a " + sdk::to_string(d.kind) + " plugin, but a " +
                          sdk::to_string(kind) + " is configured here");
  if (!d.name || name != d.name)
    throw PluginLoadError(where + ": calls itself '" + std::string(d.name ? d.name : "") +
                          "', expected '" + name + "'");
  const bool has_factory = (kind == sdk::PluginKind::transport && d.make_transport) ||
                           (kind == sdk::PluginKind::policy && d.make_policy) ||
                           (kind == sdk::PluginKind::executor && d.make_executor);
  if (!has_factory) throw PluginLoadError(where + ": the descriptor has no factory for its kind");
  loaded->descriptor = &d;
  return loaded;
}

}  // namespace vgpu::core
