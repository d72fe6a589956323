// The mediator's YAML configuration: what it loads and how it is validated.
#pragma once

#include <yaml-cpp/yaml.h>

#include "log_format.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vgpu::core {

// Any configuration problem, with "file:line:col: " in front when the position is known.
class ConfigFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What an executor entry's `devices:` names: every device the plugin finds (`all`), or these
// device numbers, in this order. A number may repeat: two instances on one GPU (each its own
// context and, with `isolation: process`, its own process) act as two devices.
struct DeviceList {
  bool all = false;
  std::vector<int> numbers;
  static constexpr int kMaxDevices = 64;
};

struct PluginSpec {
  std::string name;
  YAML::Node settings;  // the whole entry; the plugin reads its own keys, "plugin" excluded
  // Executors only (`isolation: process`): run it in a child process that the core replaces
  // when it dies or loses its GPU context. The key is taken out of `settings`.
  bool isolate_process = false;
  // `isolation_poll_us` (with isolation: process): after each message both ends of the worker's
  // channel watch it this long before sleeping in read(), so the next job or result is read at
  // once instead of after a thread wake-up. A busy core on each side while traffic is recent.
  std::chrono::microseconds isolation_poll{0};
  // Executors only (`keep_warm_us`): while a high-priority VM sent a job within the last second,
  // the scheduler sends the executor a 1 us warm-up job whenever nothing was dispatched for this
  // long (keep_warm.hpp). Zero: off. The key is taken out of `settings`.
  std::chrono::microseconds keep_warm{0};
  // Executors only (`devices: all` or a list of device numbers): the core makes one instance per
  // device, setting the plugin's own `device` setting to each, and the mediator schedules them
  // as separate devices (docs/multi-gpu.md). The key is taken out of `settings`.
  std::optional<DeviceList> devices;
};

struct Limits {
  std::size_t max_queued_per_vm = 256;
  std::size_t max_queued_total = 100000;
  std::size_t max_frame_bytes = 64u << 20;
};

// Where Prometheus scrapes the mediator (GET /metrics). Meant for a host-only address: the
// endpoint reveals every VM's usage.
struct MetricsListen {
  std::string address = "127.0.0.1";
  unsigned short port = 9780;  // 0: any free port (tests read it from the ready file)
};

struct MediatorConfig {
  std::string source = "<embedded default>";       // for error messages
  std::string text;                                // the YAML itself (executor worker processes
  std::filesystem::path base_dir;                  // parse it again, from the same folder)
  std::vector<std::filesystem::path> plugin_dirs;  // searched before the built-in defaults
  std::filesystem::path db_path = "vgpu.db";
  std::chrono::milliseconds db_reload_interval{500};
  std::vector<PluginSpec> transports;
  PluginSpec policy;
  std::vector<PluginSpec> executors;  // tried in order: the first that starts is used
  Limits limits;
  std::chrono::seconds stats_interval{60};
  std::string log_level = "info";
  LogFormat log_format = LogFormat::text;  // json: one JSON object per line, for journald/Loki
  std::optional<MetricsListen> metrics;    // absent: no metrics endpoint
  std::filesystem::path admin_socket;      // empty: no admin endpoint
  std::chrono::milliseconds shutdown_grace{10000};
  // security.require_tokens: a VM registered without a token is refused on transports that do
  // not prove the VM themselves (tcp; the file transport's directory and vsock's CID do).
  bool require_tokens = false;
};

// Relative paths in a file are taken relative to the file's folder.
MediatorConfig load_config_file(const std::filesystem::path& path);
MediatorConfig load_config_text(const std::string& yaml, const std::string& source,
                                const std::filesystem::path& base_dir);
// Used when no file is given: TCP on 127.0.0.1:7800, ./vgpu.db, strict_priority, cuda if a GPU
// is there, else cpu.
MediatorConfig embedded_default_config();
extern const char* const kEmbeddedDefaultYaml;

// Formats a plugin's sdk::ConfigError (or any message at a mark) against the config's source.
std::string located(const std::string& source, int line, int column, const std::string& message);

}  // namespace vgpu::core
