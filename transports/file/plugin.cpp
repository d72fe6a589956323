// The file transport's plugin entry: reads its YAML settings (docs/protocol.md lists them).
#include "vgpu/sdk/plugin.hpp"
#include "file_transport.hpp"

namespace {

using vgpu::sdk::ConfigError;
using namespace vgpu::transports::file;

std::unique_ptr<vgpu::sdk::Transport> make_file_transport(const YAML::Node& settings,
                                                          const vgpu::sdk::PluginContext& ctx) {
  vgpu::sdk::SettingsReader reader(settings);
  FileTransportSettings s;
  s.root = reader.get<std::string>("root", "");
  if (s.root.empty() || s.root.front() != '/')
    throw ConfigError(settings["root"] ? settings["root"].Mark() : settings.Mark(),
                      "'root' must be an absolute directory path (e.g. /var/vgpu)");
  while (s.root.size() > 1 && s.root.back() == '/') s.root.pop_back();
  s.state_dir = reader.get<std::string>("state_dir", s.root + "/.vgpu-state");
  if (s.state_dir.empty() || s.state_dir.front() != '/')
    throw ConfigError(settings["state_dir"].Mark(), "'state_dir' must be an absolute path");
  const auto detect = reader.get<std::string>("detect", "auto");
  if (detect == "inotify")
    s.detect = DetectMode::inotify;
  else if (detect == "poll")
    s.detect = DetectMode::poll;
  else if (detect != "auto")
    throw ConfigError(settings["detect"].Mark(),
                      "'detect' must be auto, inotify or poll, not '" + detect + "'");
  auto ms = [&](const char* key, unsigned fallback, unsigned lo, unsigned hi) {
    return std::chrono::milliseconds(reader.get_in_range<unsigned>(key, fallback, lo, hi));
  };
  s.poll_interval = ms("poll_interval_ms", 100, 1, 60'000);
  s.rescan_interval = ms("rescan_interval_ms", 1000, 10, 600'000);
  s.compat_settle = ms("compat_settle_ms", 50, 0, 60'000);
  s.partial_timeout = ms("partial_timeout_ms", 5000, 0, 3'600'000);
  s.compat = reader.get<bool>("compat", true);
  s.spool = reader.get<bool>("spool", true);
  s.fsync = reader.get<bool>("fsync", false);
  if (settings["uid_base"])
    s.owner.uid_base = reader.get_in_range<unsigned>("uid_base", 0, 1, 4'000'000'000u);
  if (settings["gid"]) s.owner.gid = reader.get_in_range<unsigned>("gid", 0, 0, 4'000'000'000u);
  reader.reject_unknown_keys();
  if (!s.compat && !s.spool)
    throw ConfigError(settings.Mark(), "'compat' and 'spool' are both off: nothing to serve");
  return std::make_unique<FileTransport>(std::move(s), ctx.logger, ctx.metrics);
}

}  // namespace

VGPU_EXPORT_TRANSPORT("file", "1.0.0", make_file_transport)
