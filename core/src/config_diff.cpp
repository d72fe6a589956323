#include "config_diff.hpp"

namespace vgpu::core {

namespace {

// A plugin entry as text: its name, isolation, devices and settings (YAML::Dump writes a mapping
// in its own order, so the same entry gives the same text).
std::string text_of(const PluginSpec& spec) {
  std::string devices;
  if (spec.devices) {
    devices = spec.devices->all ? " devices=all" : " devices=";
    for (int d : spec.devices->numbers) devices += std::to_string(d) + ",";
  }
  const std::string poll =
      spec.isolation_poll.count() > 0 ? " poll=" + std::to_string(spec.isolation_poll.count()) : "";
  const std::string warm =
      spec.keep_warm.count() > 0 ? " warm=" + std::to_string(spec.keep_warm.count()) : "";
  return spec.name + (spec.isolate_process ? " process" : "") + poll + warm + devices + " " +
         YAML::Dump(spec.settings);
}

std::string text_of(const std::vector<PluginSpec>& specs) {
  std::string out;
  for (const auto& s : specs) out += text_of(s) + "\n---\n";
  return out;
}

}  // namespace

bool policy_changed(const MediatorConfig& running, const MediatorConfig& next) {
  return text_of(running.policy) != text_of(next.policy);
}

std::vector<std::string> changes_needing_restart(const MediatorConfig& running,
                                                 const MediatorConfig& next) {
  std::vector<std::string> changed;
  auto check = [&](bool differs, const char* what) {
    if (differs) changed.emplace_back(what);
  };
  check(text_of(running.transports) != text_of(next.transports), "transports");
  check(text_of(running.executors) != text_of(next.executors), "executors");
  check(running.plugin_dirs != next.plugin_dirs, "plugin_dirs");
  check(running.db_path != next.db_path || running.db_reload_interval != next.db_reload_interval,
        "database");
  check(running.limits.max_queued_per_vm != next.limits.max_queued_per_vm ||
            running.limits.max_queued_total != next.limits.max_queued_total ||
            running.limits.max_frame_bytes != next.limits.max_frame_bytes,
        "limits");
  check(running.stats_interval != next.stats_interval, "stats");
  check(running.log_level != next.log_level || running.log_format != next.log_format, "log");
  const auto where = [](const std::optional<MetricsListen>& m) {
    return m ? m->address + ":" + std::to_string(m->port) : std::string();
  };
  check(where(running.metrics) != where(next.metrics), "metrics");
  check(running.admin_socket != next.admin_socket, "admin");
  check(running.shutdown_grace != next.shutdown_grace, "shutdown");
  check(running.require_tokens != next.require_tokens, "security");
  return changed;
}

}  // namespace vgpu::core
