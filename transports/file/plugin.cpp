// The file transport's plugin entry: the settings it takes and its factory (docs/protocol.md
// describes the two protocols it serves).
#include "vgpu/sdk/plugin.hpp"
#include "file_transport.hpp"

namespace {

using namespace vgpu::transports::file;
using vgpu::sdk::SettingType;

constexpr vgpu::sdk::SettingSpec kSettings[] = {
    {"root", SettingType::text, 0, 0, "",
     "required: the absolute folder holding one vmN folder per VM (the NFS export)", nullptr},
    {"state_dir", SettingType::text, 0, 0, "",
     "absolute folder for the mediator's own files, out of guests' reach (default: "
     "root/.vgpu-state)",
     nullptr},
    {"detect", SettingType::text, 0, 0, "auto", "how new requests are noticed",
     "auto|inotify|poll"},
    {"poll_interval_ms", SettingType::integer, 1, 60'000, "100",
     "how often folders are scanned when polling", nullptr},
    {"rescan_interval_ms", SettingType::integer, 10, 600'000, "1000",
     "a full scan this often even with inotify (NFS clients' writes raise no event)", nullptr},
    {"compat_settle_ms", SettingType::integer, 0, 60'000, "50",
     "an original-protocol request.txt must be unchanged this long before it is read", nullptr},
    {"partial_timeout_ms", SettingType::integer, 0, 3'600'000, "5000",
     "a request whose payload files are still incomplete after this is refused", nullptr},
    {"compat", SettingType::boolean, 0, 0, "true",
     "serve the original request.txt / response.txt protocol", nullptr},
    {"spool", SettingType::boolean, 0, 0, "true", "serve the v2 spool protocol", nullptr},
    {"fsync", SettingType::boolean, 0, 0, "false",
     "fsync responses before they are renamed into place", nullptr},
    {"uid_base", SettingType::integer, 1, 4'000'000'000, "",
     "VM N's folder is owned by uid uid_base + N (unset: not changed)", nullptr},
    {"gid", SettingType::integer, 0, 4'000'000'000, "",
     "VM folders get this group (unset: not changed)", nullptr},
};

std::unique_ptr<vgpu::sdk::Transport> make_file_transport(const vgpu::sdk::Settings& settings,
                                                          const vgpu::sdk::PluginContext& ctx) {
  FileTransportSettings s;
  s.root = settings.text("root");
  if (s.root.empty() || s.root.front() != '/')
    settings.reject("root", "'root' must be an absolute directory path (e.g. /var/vgpu)");
  while (s.root.size() > 1 && s.root.back() == '/') s.root.pop_back();
  s.state_dir = settings.has("state_dir") ? settings.text("state_dir") : s.root + "/.vgpu-state";
  if (s.state_dir.empty() || s.state_dir.front() != '/')
    settings.reject("state_dir", "'state_dir' must be an absolute path");
  // The schema allows only auto, inotify and poll; auto leaves the choice to the filesystem.
  const auto detect = settings.text("detect");
  if (detect == "inotify") s.detect = DetectMode::inotify;
  if (detect == "poll") s.detect = DetectMode::poll;
  auto ms = [&](const char* key) { return std::chrono::milliseconds(settings.integer(key)); };
  s.poll_interval = ms("poll_interval_ms");
  s.rescan_interval = ms("rescan_interval_ms");
  s.compat_settle = ms("compat_settle_ms");
  s.partial_timeout = ms("partial_timeout_ms");
  s.compat = settings.boolean("compat");
  s.spool = settings.boolean("spool");
  s.fsync = settings.boolean("fsync");
  if (settings.has("uid_base")) s.owner.uid_base = static_cast<uid_t>(settings.integer("uid_base"));
  if (settings.has("gid")) s.owner.gid = static_cast<gid_t>(settings.integer("gid"));
  if (!s.compat && !s.spool)
    settings.reject("spool", "'compat' and 'spool' are both off: nothing to serve");
  return std::make_unique<FileTransport>(std::move(s), ctx.logger(), ctx.metrics());
}

}  // namespace

VGPU_EXPORT_TRANSPORT("file", "1.1.0",
                      "the original NFS request/response files and the v2 spool; the VM's "
                      "folder proves the VM",
                      vgpu::sdk::schema_of(kSettings), make_file_transport)
