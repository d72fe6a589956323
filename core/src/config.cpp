#include "config.hpp"

#include <boost/asio/ip/address.hpp>

#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

namespace vgpu::core {
namespace {

class Validator {
 public:
  Validator(std::string source, std::filesystem::path base_dir)
      : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  [[noreturn]] void fail(const YAML::Node& at, const std::string& message) const {
    const auto mark = at.Mark();
    throw ConfigFileError(located(source_, mark.line + 1, mark.column + 1, message));
  }

  void require_map(const YAML::Node& node, const std::string& what) const {
    if (!node.IsMap()) fail(node, "'" + what + "' must be a mapping");
  }

  void only_keys(const YAML::Node& node, const std::string& what,
                 const std::set<std::string>& allowed) const {
    require_map(node, what);
    for (const auto& kv : node) {
      if (!kv.first.IsScalar())
        fail(kv.first, "a key in " + what + " must be a plain name, not a list or a map");
      const auto key = kv.first.as<std::string>();
      if (!allowed.count(key)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        fail(kv.first, "unknown key '" + key + "' in " + what + " (expected one of: " + list + ")");
      }
    }
  }

  template <typename T>
  T scalar(const YAML::Node& node, const std::string& key, const std::string& expected) const {
    if (!node.IsScalar()) fail(node, "'" + key + "' must be " + expected);
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      fail(node, "bad value '" + node.Scalar() + "' for '" + key + "': expected " + expected);
    }
  }

  std::uint64_t positive(const YAML::Node& node, const std::string& key, std::uint64_t max) const {
    const auto text = node.IsScalar() ? node.Scalar() : std::string();
    if (text.empty() || text[0] == '-')
      fail(node, "bad value '" + text + "' for '" + key + "': expected a positive integer");
    const auto value = scalar<std::uint64_t>(node, key, "a positive integer");
    if (value == 0 || value > max)
      fail(node, "'" + key + "' must be between 1 and " + std::to_string(max));
    return value;
  }

  std::filesystem::path path(const YAML::Node& node, const std::string& key) const {
    std::filesystem::path p = scalar<std::string>(node, key, "a path");
    if (p.empty()) fail(node, "'" + key + "' must not be empty");
    return p.is_absolute() ? p : base_dir_ / p;
  }

  // `devices`: `all`, or a non-empty list of device numbers 0..63 (repeats allowed).
  DeviceList device_list(const YAML::Node& node) const {
    const std::string expected = "'all' or a list of device numbers such as [0, 1]";
    DeviceList out;
    if (node.IsScalar()) {
      if (node.Scalar() != "all")
        fail(node, "bad value '" + node.Scalar() + "' for 'devices': expected " + expected);
      out.all = true;
      return out;
    }
    if (!node.IsSequence() || node.size() == 0) fail(node, "'devices' must be " + expected);
    if (node.size() > DeviceList::kMaxDevices)
      fail(node, "'devices' lists " + std::to_string(node.size()) + " devices; at most " +
                     std::to_string(DeviceList::kMaxDevices));
    for (const auto& entry : node) {
      const auto text = entry.IsScalar() ? entry.Scalar() : std::string();
      if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos ||
          text.size() > 2 || std::stoi(text) >= DeviceList::kMaxDevices)
        fail(entry, "bad device number '" + text + "' in 'devices': expected 0 to " +
                        std::to_string(DeviceList::kMaxDevices - 1));
      out.numbers.push_back(std::stoi(text));
    }
    return out;
  }

  PluginSpec plugin(const YAML::Node& node, const std::string& what) const {
    require_map(node, what);
    const auto name = node["plugin"];
    if (!name) fail(node, what + " needs a 'plugin' key naming the plugin");
    PluginSpec spec{scalar<std::string>(name, "plugin", "a plugin name"), node};
    for (char c : spec.name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'))
        fail(name, "plugin name '" + spec.name + "' may hold only letters, digits, '_' and '-'");
    return spec;
  }

  std::vector<PluginSpec> plugin_list(const YAML::Node& node, const std::string& what) const {
    if (!node.IsSequence() || node.size() == 0)
      fail(node, "'" + what + "' must be a non-empty list of plugin entries");
    std::vector<PluginSpec> out;
    for (const auto& entry : node) out.push_back(plugin(entry, what + " entry"));
    return out;
  }

 private:
  std::string source_;
  std::filesystem::path base_dir_;
};

MediatorConfig parse(const YAML::Node& root, const std::string& source,
                     const std::filesystem::path& base_dir) {
  Validator v(source, base_dir);
  MediatorConfig cfg;
  cfg.source = source;
  cfg.db_path = base_dir / "vgpu.db";
  v.only_keys(root, "the top level",
              {"plugin_dirs", "database", "transports", "policy", "executors", "limits", "stats",
               "log", "admin", "metrics", "shutdown", "security"});

  if (auto dirs = root["plugin_dirs"]) {
    if (!dirs.IsSequence()) v.fail(dirs, "'plugin_dirs' must be a list of folders");
    for (const auto& d : dirs) cfg.plugin_dirs.push_back(v.path(d, "plugin_dirs"));
  }
  if (auto db = root["database"]) {
    v.only_keys(db, "database", {"path", "reload_interval_ms"});
    if (db["path"]) cfg.db_path = v.path(db["path"], "path");
    if (db["reload_interval_ms"])
      cfg.db_reload_interval = std::chrono::milliseconds(
          v.positive(db["reload_interval_ms"], "reload_interval_ms", 3600000));
  }
  if (!root["transports"]) v.fail(root, "missing 'transports': name at least one transport");
  cfg.transports = v.plugin_list(root["transports"], "transports");
  if (!root["policy"]) v.fail(root, "missing 'policy'");
  cfg.policy = v.plugin(root["policy"], "policy");
  if (!root["executors"]) v.fail(root, "missing 'executors'");
  cfg.executors = v.plugin_list(root["executors"], "executors");
  for (auto& spec : cfg.executors) {
    if (auto isolation = spec.settings["isolation"]) {
      const auto mode = v.scalar<std::string>(isolation, "isolation", "none or process");
      if (mode != "none" && mode != "process")
        v.fail(isolation, "bad value '" + mode + "' for 'isolation': expected none or process");
      spec.isolate_process = mode == "process";
      spec.settings.remove("isolation");  // the core's key, not the plugin's
    }
    if (auto poll = spec.settings["isolation_poll_us"]) {
      const auto us = v.scalar<long long>(poll, "isolation_poll_us", "microseconds, 0 to 10000000");
      if (us < 0 || us > 10'000'000)
        v.fail(poll, "bad value " + std::to_string(us) +
                         " for 'isolation_poll_us': expected 0 to 10000000 microseconds");
      if (!spec.isolate_process && us > 0)
        v.fail(poll,
               "'isolation_poll_us' needs 'isolation: process' (it polls the worker's "
               "channel)");
      spec.isolation_poll = std::chrono::microseconds(us);
      spec.settings.remove("isolation_poll_us");  // the core's key, not the plugin's
    }
    if (auto warm = spec.settings["keep_warm_us"]) {
      const auto us = v.scalar<long long>(warm, "keep_warm_us", "microseconds, 0 to 1000000");
      if (us < 0 || us > 1'000'000)
        v.fail(warm, "bad value " + std::to_string(us) +
                         " for 'keep_warm_us': expected 0 (off) to 1000000 microseconds");
      spec.keep_warm = std::chrono::microseconds(us);
      spec.settings.remove("keep_warm_us");  // the core's key, not the plugin's
    }
    if (auto devices = spec.settings["devices"]) {
      spec.devices = v.device_list(devices);
      if (spec.settings["device"])
        v.fail(spec.settings["device"],
               "'device' and 'devices' both set: 'devices' gives each instance its device");
      spec.settings.remove("devices");  // the core's key, not the plugin's
    }
  }

  if (auto limits = root["limits"]) {
    v.only_keys(limits, "limits", {"max_queued_per_vm", "max_queued_total", "max_frame_bytes"});
    if (limits["max_queued_per_vm"])
      cfg.limits.max_queued_per_vm =
          v.positive(limits["max_queued_per_vm"], "max_queued_per_vm", 1u << 24);
    if (limits["max_queued_total"])
      cfg.limits.max_queued_total =
          v.positive(limits["max_queued_total"], "max_queued_total", 1u << 28);
    if (limits["max_frame_bytes"])
      cfg.limits.max_frame_bytes =
          v.positive(limits["max_frame_bytes"], "max_frame_bytes", std::uint64_t(UINT32_MAX));
    if (cfg.limits.max_frame_bytes < 4096)
      v.fail(limits["max_frame_bytes"], "'max_frame_bytes' must be at least 4096");
  }
  if (auto stats = root["stats"]) {
    v.only_keys(stats, "stats", {"interval_s"});
    if (stats["interval_s"])
      cfg.stats_interval =
          std::chrono::seconds(v.positive(stats["interval_s"], "interval_s", 86400));
  }
  if (auto log = root["log"]) {
    v.only_keys(log, "log", {"level", "format"});
    if (log["format"]) {
      const auto format = v.scalar<std::string>(log["format"], "format", "text or json");
      if (format != "text" && format != "json")
        v.fail(log["format"], "bad value '" + format + "' for 'format': expected text or json");
      cfg.log_format = format == "json" ? LogFormat::json : LogFormat::text;
    }
    if (log["level"]) {
      cfg.log_level = v.scalar<std::string>(log["level"], "level", "a log level");
      static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "off"};
      if (!levels.count(cfg.log_level))
        v.fail(log["level"], "'level' must be one of trace, debug, info, warn, error, off");
    }
  }
  if (auto admin = root["admin"]) {
    v.only_keys(admin, "admin", {"socket"});
    if (admin["socket"]) cfg.admin_socket = v.path(admin["socket"], "socket");
  }
  if (auto metrics = root["metrics"]) {
    v.only_keys(metrics, "metrics", {"listen", "port"});
    MetricsListen listen;
    if (metrics["listen"]) {
      listen.address = v.scalar<std::string>(metrics["listen"], "listen", "an IP address");
      boost::system::error_code ec;
      boost::asio::ip::make_address(listen.address, ec);
      if (ec)
        v.fail(metrics["listen"],
               "'listen' must be an IP address (e.g. 127.0.0.1), not '" + listen.address + "'");
    }
    if (metrics["port"]) {
      const auto port = v.scalar<long long>(metrics["port"], "port", "a TCP port");
      if (port < 0 || port > 65535) v.fail(metrics["port"], "'port' must be 0..65535");
      listen.port = static_cast<unsigned short>(port);
    }
    // The endpoint shows every VM's usage: it must never share a guest-reachable port.
    for (const auto& t : cfg.transports)
      if (listen.port != 0 && t.settings["port"] && t.settings["port"].IsScalar() &&
          t.settings["port"].as<std::string>() == std::to_string(listen.port))
        v.fail(metrics["port"] ? metrics["port"] : metrics,
               "metrics port " + std::to_string(listen.port) + " is transport '" + t.name +
                   "''s port: give the metrics endpoint its own, host-only port");
    cfg.metrics = listen;
  }
  if (auto security = root["security"]) {
    v.only_keys(security, "security", {"require_tokens"});
    if (security["require_tokens"])
      cfg.require_tokens =
          v.scalar<bool>(security["require_tokens"], "require_tokens", "true or false");
  }
  if (auto shutdown = root["shutdown"]) {
    v.only_keys(shutdown, "shutdown", {"grace_ms"});
    if (shutdown["grace_ms"])
      cfg.shutdown_grace =
          std::chrono::milliseconds(v.positive(shutdown["grace_ms"], "grace_ms", 3600000));
  }
  return cfg;
}

}  // namespace

std::string located(const std::string& source, int line, int column, const std::string& message) {
  if (line <= 0) return source + ": " + message;
  return source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

MediatorConfig load_config_text(const std::string& yaml, const std::string& source,
                                const std::filesystem::path& base_dir) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::ParserException& e) {
    throw ConfigFileError(located(source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!root || root.IsNull()) throw ConfigFileError(source + ": the configuration is empty");
  MediatorConfig config;
  try {
    config = parse(root, source, base_dir);
  } catch (const YAML::Exception& e) {
    // Every check above names what it expected; this is the net under them (found by fuzzing:
    // a complex key once escaped as YAML::BadConversion).
    throw ConfigFileError(located(source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  config.text = yaml;
  config.base_dir = base_dir;
  return config;
}

MediatorConfig load_config_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw ConfigFileError(path.string() + ": cannot open the configuration file");
  std::stringstream text;
  text << in.rdbuf();
  return load_config_text(text.str(), path.string(), std::filesystem::absolute(path).parent_path());
}

const char* const kEmbeddedDefaultYaml = R"(# vgpu-mediator's embedded default (no --config given)
database:
  path: vgpu.db
transports:
  - plugin: tcp
    listen: 127.0.0.1
    port: 7800
policy:
  plugin: strict_priority
executors:
  - plugin: cuda   # used when a GPU is present
  - plugin: cpu    # the fallback
stats:
  interval_s: 60
)";

MediatorConfig embedded_default_config() {
  return load_config_text(kEmbeddedDefaultYaml, "<embedded default>",
                          std::filesystem::current_path());
}

}  // namespace vgpu::core
