// The mediator: loads the configured plugins and wires transports -> admission -> policy ->
// executor -> results back. It is the transports' Sink.
#pragma once

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "config.hpp"
#include "config_db.hpp"
#include "device_placement.hpp"
#include "identity_directory.hpp"
#include "metrics/exposition.hpp"
#include "metrics/metrics_server.hpp"
#include "plugin_host/host_context.hpp"
#include "plugin_host/plugin_loader.hpp"
#include "refusal_log.hpp"
#include "scheduler.hpp"
#include "spdlog_logger.hpp"
#include "status_socket.hpp"
#include "vgpu/sdk/telemetry.hpp"

namespace vgpu::core {

// One device the mediator drives: an executor instance with its own policy instance and
// scheduler, so its queue, slots, device admission and priorities are its own. Without
// `devices:` the mediator has exactly one, named after the executor plugin.
struct DeviceLane {
  std::size_t index = 0;
  std::string name;    // "cuda:1"
  int device = -1;     // the plugin's `device` setting; -1 without `devices:`
  unsigned slots = 1;  // from the executor's info() at start, for placement
  PluginInstance<sdk::Executor> executor;
  PluginInstance<sdk::Policy> policy;
  std::unique_ptr<Scheduler> scheduler;
};

class Mediator final : public sdk::Sink {
 public:
  explicit Mediator(MediatorConfig config);
  ~Mediator() override;

  // Loads and constructs every plugin (validating their settings) without starting anything.
  // Throws ConfigFileError or PluginLoadError.
  void build();
  // build(), then opens the DB and starts executor, scheduler, transports and admin endpoint.
  void start();
  // Refuses new work, fails queued jobs, lets running ones finish (up to the grace period),
  // delivers their results, then stops everything. Idempotent.
  void stop();
  // Re-reads the config DB now (SIGHUP).
  void reload_identities();
  // Applies a configuration read again (SIGHUP): a changed policy or policy setting takes effect
  // at once, queued jobs moving to the new policy in their order, no connection or job dropped.
  // Other changes are logged as needing a restart. A policy that cannot be made (a bad setting,
  // a missing plugin) is logged with its position, and the running one stays. Call from one
  // thread at a time, after start().
  void reload_config(const MediatorConfig& next);

  std::vector<std::string> endpoints() const;
  // The configuration as it runs: the file as loaded at start, with the policy entry a reload
  // applied since (other changes wait for a restart), as YAML.
  std::string running_config() const;
  std::string executor_name() const;
  nlohmann::json stats_json();
  // The Prometheus exposition (mediator_metrics.cpp); what GET /metrics answers.
  std::string metrics_text();
  // "http://127.0.0.1:9780/metrics" when metrics are on, else empty.
  std::string metrics_endpoint() const;

  // sdk::Sink
  sdk::AuthOutcome authenticate(const sdk::PeerIdentity& peer) override;
  void submit(std::uint32_t vm_id, sdk::SubmitRequest request,
              std::shared_ptr<sdk::ReplyChannel> channel) override;
  void cancel(const sdk::ReplyChannel& channel, std::uint64_t client_tag) override;
  void disconnected(const sdk::ReplyChannel& channel) override;
  std::size_t max_frame_bytes() const override { return config_.limits.max_frame_bytes; }
  std::vector<std::uint32_t> registered_vms() const override { return directory_.vm_ids(); }

 private:
  std::unique_ptr<sdk::PluginContext> context_for(const std::string& what);
  // Loads the policy plugin and makes its object. Throws sdk::ConfigError for bad settings,
  // PluginLoadError for a plugin that cannot be loaded.
  PluginInstance<sdk::Policy> make_policy(const PluginSpec& spec);
  // `isolation: process`: the executor runs in a child process of this program.
  std::unique_ptr<sdk::Executor> start_isolated_executor(const PluginSpec& spec, std::size_t index,
                                                         int device);
  // The executor instance of entry `index` for `device` (-1: the entry has no `devices:`).
  PluginInstance<sdk::Executor> make_executor(const PluginSpec& spec, std::size_t index,
                                              int device);
  // Every instance the entry asks for, as lanes without policy or scheduler yet. Throws
  // sdk::ExecutorUnavailable when the entry cannot start (its first device is absent).
  std::vector<DeviceLane> make_lanes(const PluginSpec& spec, std::size_t index);
  // A policy instance for every lane, and the placement instance when the policy has the role.
  void make_policies(const PluginSpec& spec, std::vector<PluginInstance<sdk::Policy>>& per_lane,
                     PluginInstance<sdk::Policy>& placer);
  std::vector<sdk::DeviceLoad> device_loads() const;
  // Every lane's snapshot, merged; `per_device` gets each one's when given.
  SchedulerSnapshot merged_snapshot(std::vector<SchedulerSnapshot>* per_device = nullptr);
  void log_loaded(const LoadedLibrary& lib, const std::string& what);
  [[noreturn]] void config_error(const std::string& what, const sdk::ConfigError& e) const;
  void watch_db();
  void count_refusal(std::uint32_t vm_id, const std::string& pool, int priority,
                     sdk::Status reason);
  // `device`: a label added to every reading (the executor's device), or none.
  void publish_readings(metrics::Exposition& out, const std::string& kind,
                        const std::string& plugin, const sdk::Telemetry& telemetry,
                        const metrics::Labels& device);

  MediatorConfig config_;
  mutable std::mutex policy_spec_mutex_;  // config_.policy: replaced by reloads, read by status
  SpdLogger log_{""};
  RefusalLog refusal_log_;  // refused HELLOs and jobs: a guest can cause them at will
  std::vector<std::unique_ptr<SpdLogger>> plugin_logs_;
  MetricsRegistry metrics_;
  PluginLoader loader_;

  std::optional<ConfigDb> db_;
  IdentityDirectory directory_;
  std::thread db_watcher_;
  std::mutex db_mutex_;
  std::condition_variable db_wake_;
  bool db_reload_requested_ = false;
  bool db_watch_stop_ = false;

  std::vector<DeviceLane> lanes_;
  bool device_labels_ = false;  // the executor entry has `devices:`: metrics carry a device label
  // With several devices and a policy with the Placement role: the instance that places VMs.
  PluginInstance<sdk::Policy> placer_;
  std::unique_ptr<DevicePlacement> placement_;
  std::atomic<std::uint64_t> dispatch_counter_{0};
  std::set<std::string, std::less<>> executor_ops_;
  std::chrono::microseconds keep_warm_{0};  // the executor entry in use's keep_warm_us
  std::vector<PluginInstance<sdk::Transport>> transports_;
  std::unique_ptr<StatusSocket> admin_;
  std::unique_ptr<metrics::MetricsServer> metrics_server_;
  std::string config_digest_;  // of the configuration text, for vgpu_config_info

  // Counted outside the scheduler, for the metrics endpoint.
  std::mutex counts_mutex_;
  std::map<std::tuple<std::uint32_t, std::string, int, std::string>, std::uint64_t> refusals_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> hellos_;  // transport, result
  std::set<std::string> bad_readings_;  // telemetry readings already logged as unusable

  std::atomic<sdk::JobId> next_job_id_{1};
  bool built_ = false;
  bool started_ = false;
  bool stopped_ = false;
};

}  // namespace vgpu::core
