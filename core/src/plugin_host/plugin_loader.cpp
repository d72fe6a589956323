#include "plugin_loader.hpp"

#include <boost/dll/runtime_symbol_info.hpp>

#include <cstdlib>
#include <set>
#include <sstream>

#include "yaml_settings.hpp"

namespace vgpu::core {

namespace {

std::string sdk_text(unsigned major, unsigned minor) {
  return "SDK " + std::to_string(major) + "." + std::to_string(minor);
}

}  // namespace

std::string LoadedLibrary::summary() const {
  return descriptor_ && descriptor_->summary ? descriptor_->summary : "";
}

std::string LoadedLibrary::built_for() const {
  if (legacy_) return "plugin ABI " + std::to_string(legacy_->abi_version);
  return sdk_text(descriptor_->sdk_major, descriptor_->sdk_minor);
}

sdk::SettingsSchema LoadedLibrary::schema() const {
  return descriptor_ ? descriptor_->settings : sdk::SettingsSchema{};
}

template <typename T, typename Factory, typename LegacyFactory>
std::unique_ptr<T> LoadedLibrary::make(const YAML::Node& settings, const sdk::PluginContext& ctx,
                                       Factory factory, LegacyFactory legacy_factory) const {
  if (legacy_) {
    // The ABI 5 factory reads its own YAML node and takes the context by the old layout. The
    // context's `now` is copied out of ours; the logger and metrics are the same objects.
    const legacy::ContextV5 old{ctx.logger(), ctx.metrics(), ctx.clock(), ctx.instance_name()};
    return legacy_factory(settings, old);
  }
  const YamlSettings view(settings, descriptor_->settings,
                          std::string(sdk::to_string(kind_)) + " '" + name_ + "'");
  return factory(view, ctx);
}

std::unique_ptr<sdk::Policy> LoadedLibrary::make_policy(const YAML::Node& settings,
                                                        const sdk::PluginContext& ctx) const {
  return make<sdk::Policy>(settings, ctx, descriptor_ ? descriptor_->make_policy : nullptr,
                           legacy_ ? legacy_->make_policy : nullptr);
}

std::unique_ptr<sdk::Executor> LoadedLibrary::make_executor(const YAML::Node& settings,
                                                            const sdk::PluginContext& ctx) const {
  return make<sdk::Executor>(settings, ctx, descriptor_ ? descriptor_->make_executor : nullptr,
                             legacy_ ? legacy_->make_executor : nullptr);
}

std::unique_ptr<sdk::Transport> LoadedLibrary::make_transport(const YAML::Node& settings,
                                                              const sdk::PluginContext& ctx) const {
  return make<sdk::Transport>(settings, ctx, descriptor_ ? descriptor_->make_transport : nullptr,
                              legacy_ ? legacy_->make_transport : nullptr);
}

PluginLoader::PluginLoader(std::vector<std::filesystem::path> dirs, Search search)
    : dirs_(std::move(dirs)) {
  if (search == with_defaults)
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

std::vector<std::shared_ptr<LoadedLibrary>> PluginLoader::load_all() {
  std::vector<std::shared_ptr<LoadedLibrary>> out;
  std::set<std::string> seen;
  for (const auto& dir : dirs_) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
      files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& path : files) {
      const std::string file = path.filename().string();
      for (auto kind :
           {sdk::PluginKind::transport, sdk::PluginKind::policy, sdk::PluginKind::executor}) {
        const std::string prefix = std::string("libvgpu-") + sdk::to_string(kind) + "-";
        if (file.rfind(prefix, 0) != 0 || file.size() <= prefix.size() + 3 ||
            file.substr(file.size() - 3) != ".so")
          continue;
        const std::string name = file.substr(prefix.size(), file.size() - prefix.size() - 3);
        if (seen.insert(file).second) out.push_back(load_file(path, kind, name));
      }
    }
  }
  return out;
}

std::shared_ptr<LoadedLibrary> PluginLoader::load_file(const std::filesystem::path& file,
                                                       sdk::PluginKind kind,
                                                       const std::string& name) {
  auto loaded = std::make_shared<LoadedLibrary>();
  loaded->file_ = std::filesystem::absolute(file);
  const std::string where = loaded->file_.string();
  try {
    loaded->library_.load(loaded->file_,
                          boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw PluginLoadError(where + ": cannot load: " + e.what());
  }
  const std::string here = sdk_text(sdk::kSdkMajor, sdk::kSdkMinor);
  const char* declared_name = nullptr;
  if (loaded->library_.has(sdk::kDescriptorSymbol)) {
    const auto& d = loaded->library_.get<const sdk::PluginDescriptor>(sdk::kDescriptorSymbol);
    if (d.magic != sdk::kDescriptorMagic)
      throw PluginLoadError(where + ": its '" + std::string(sdk::kDescriptorSymbol) +
                            "' is not a vgpu plugin descriptor");
    const std::string built = sdk_text(d.sdk_major, d.sdk_minor);
    if (d.sdk_major != sdk::kSdkMajor)
      throw PluginLoadError(where + ": built for " + built + ", but this mediator runs " + here +
                            ": rebuild the plugin against " + here);
    // A newer minor may call services this core does not have yet.
    if (d.sdk_minor > sdk::kSdkMinor)
      throw PluginLoadError(where + ": built for " + built + ", newer than this mediator's " +
                            here + ": update the mediator, or rebuild the plugin against " + here);
    if (auto problem = YamlSettings::schema_problem(d.settings); !problem.empty())
      throw PluginLoadError(where + ": " + problem);
    loaded->descriptor_ = &d;
    loaded->kind_ = d.kind;
    declared_name = d.name;
    loaded->version_ = d.version ? d.version : "";
  } else if (loaded->library_.has(legacy::kDescriptorSymbolV5)) {
    const auto& d = loaded->library_.get<const legacy::DescriptorV5>(legacy::kDescriptorSymbolV5);
    if (d.abi_version != legacy::kAbi5)
      throw PluginLoadError(where + ": built for plugin ABI " + std::to_string(d.abi_version) +
                            ", which this mediator (" + here +
                            ") cannot run: rebuild the plugin against " + here);
    // Transports of ABI 5 filled in a PeerIdentity whose layout SDK 1.0 changed.
    if (d.kind == sdk::PluginKind::transport)
      throw PluginLoadError(where + ": a transport built for plugin ABI 5; " + here +
                            " changed what transports pass to the core (PeerIdentity): rebuild "
                            "the plugin against " +
                            here);
    loaded->legacy_ = &d;
    loaded->kind_ = d.kind;
    declared_name = d.name;
    loaded->version_ = d.version ? d.version : "";
  } else {
    throw PluginLoadError(where + ": not a vgpu plugin: it exports no '" +
                          std::string(sdk::kDescriptorSymbol) + "' symbol");
  }
  if (loaded->kind_ != kind)
    throw PluginLoadError(where + ": is a " + std::string(sdk::to_string(loaded->kind_)) +
                          " plugin, but a " + sdk::to_string(kind) + " is configured here");
  if (!declared_name || name != declared_name)
    throw PluginLoadError(where + ": calls itself '" +
                          std::string(declared_name ? declared_name : "") + "', expected '" + name +
                          "'");
  loaded->name_ = name;
  const bool has_factory =
      loaded->descriptor_
          ? ((kind == sdk::PluginKind::transport && loaded->descriptor_->make_transport) ||
             (kind == sdk::PluginKind::policy && loaded->descriptor_->make_policy) ||
             (kind == sdk::PluginKind::executor && loaded->descriptor_->make_executor))
          : ((kind == sdk::PluginKind::policy && loaded->legacy_->make_policy) ||
             (kind == sdk::PluginKind::executor && loaded->legacy_->make_executor));
  if (!has_factory) throw PluginLoadError(where + ": the descriptor has no factory for its kind");
  return loaded;
}

}  // namespace vgpu::core
