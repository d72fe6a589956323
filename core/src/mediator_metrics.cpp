// The mediator's Prometheus exposition (GET /metrics): what the scheduler counts per VM, what
// the mediator refused before the scheduler saw a job, what plugins report through the
// Telemetry role, and the process itself. Metric names: docs/metrics.md.
#include <unistd.h>

#include "isolation/process_executor.hpp"
#include "mediator.hpp"
#include "metrics/exposition.hpp"
#include "metrics/process_stats.hpp"
#include "vgpu/sdk/telemetry.hpp"
#include "vgpu/sdk/version.hpp"

#ifndef VGPU_VERSION
#define VGPU_VERSION "unknown"
#endif

namespace vgpu::core {

using metrics::Exposition;
using metrics::Labels;
using metrics::Type;

namespace {

Labels vm_labels(std::uint32_t vm_id, const std::string& pool, int priority) {
  return {
      {"vm", std::to_string(vm_id)}, {"pool", pool}, {"priority", sdk::priority_name(priority)}};
}

Labels with(Labels labels, std::string key, std::string value) {
  labels.emplace_back(std::move(key), std::move(value));
  return labels;
}

// `device`: the label every series gets when the mediator drives devices (`devices:`), else empty.
void per_vm_metrics(Exposition& out, const SchedulerSnapshot& snap, const Labels& device) {
  out.family("vgpu_jobs_queued", Type::gauge, "Jobs waiting in the mediator, per VM");
  out.family("vgpu_jobs_running", Type::gauge, "Jobs on the executor now, per VM");
  out.family("vgpu_jobs_finished_total", Type::counter,
             "Jobs that ran to a result, per VM and the result's status (ok, execution_error, "
             "quota_exceeded, deadline_exceeded, ...)");
  out.family("vgpu_jobs_cancelled_total", Type::counter,
             "Jobs withdrawn before they ran: cancelled, their client gone, or a shutdown");
  out.family("vgpu_jobs_rejected_total", Type::counter,
             "Jobs refused before they were queued, per VM and reason");
  out.family("vgpu_job_wait_seconds", Type::histogram, "Time from admission to start");
  out.family("vgpu_job_run_seconds", Type::histogram, "Time from start to result");
  out.family("vgpu_device_seconds_total", Type::counter,
             "Device time the executor reports for a VM's jobs (GPU time on cuda)");
  out.family("vgpu_memory_quota_bytes", Type::gauge,
             "A VM's device memory quota from the config DB (0: the executor's default)");
  for (const auto& [vm_id, c] : snap.vms) {
    Labels vm = vm_labels(vm_id, c.pool, c.priority);
    vm.insert(vm.end(), device.begin(), device.end());
    out.add("vgpu_jobs_queued", vm, double(c.queued));
    out.add("vgpu_jobs_running", vm, double(c.running));
    c.finished_by_status.each([&](sdk::Status status, std::uint64_t n) {
      out.add("vgpu_jobs_finished_total", with(vm, "status", sdk::to_string(status)), double(n));
    });
    out.add("vgpu_jobs_cancelled_total", vm, double(c.cancelled));
    c.rejected_by_reason.each([&](sdk::Status reason, std::uint64_t n) {
      out.add("vgpu_jobs_rejected_total", with(vm, "reason", sdk::to_string(reason)), double(n));
    });
    out.histogram("vgpu_job_wait_seconds", vm, c.wait_seconds);
    out.histogram("vgpu_job_run_seconds", vm, c.run_seconds);
    out.add("vgpu_device_seconds_total", vm, c.device_seconds);
    out.add("vgpu_memory_quota_bytes", vm, double(c.memory_quota_bytes));
  }
}

void process_metrics(Exposition& out) {
  const auto p = metrics::read_process_stats();
  out.family("process_cpu_seconds_total", Type::counter, "User and system CPU time");
  out.add("process_cpu_seconds_total", {}, p.cpu_seconds);
  out.family("process_resident_memory_bytes", Type::gauge, "Resident memory");
  out.add("process_resident_memory_bytes", {}, double(p.rss_bytes));
  out.family("process_virtual_memory_bytes", Type::gauge, "Virtual memory");
  out.add("process_virtual_memory_bytes", {}, double(p.virtual_bytes));
  out.family("process_open_fds", Type::gauge, "Open file descriptors");
  out.add("process_open_fds", {}, double(p.open_fds));
  out.family("process_max_fds", Type::gauge, "The descriptor limit (RLIMIT_NOFILE)");
  out.add("process_max_fds", {}, double(p.max_fds));
  out.family("process_start_time_seconds", Type::gauge, "Start time since the Unix epoch");
  out.add("process_start_time_seconds", {}, p.start_time_seconds);
}

}  // namespace

void Mediator::count_refusal(std::uint32_t vm_id, const std::string& pool, int priority,
                             sdk::Status reason) {
  std::lock_guard lock(counts_mutex_);
  ++refusals_[{vm_id, pool, priority, sdk::to_string(reason)}];
}

void Mediator::publish_readings(Exposition& out, const std::string& kind, const std::string& plugin,
                                const sdk::Telemetry& telemetry, const Labels& device) {
  for (const auto& r : telemetry.readings()) {
    const std::string name = "vgpu_" + kind + "_" + r.name;
    Labels labels{{"plugin", plugin}};
    labels.insert(labels.end(), device.begin(), device.end());
    bool valid = Exposition::valid_metric_name(name);
    for (const auto& label : r.labels) {
      valid = valid && Exposition::valid_label_name(label.first) && label.first != "plugin" &&
              label.first != "device";
      labels.push_back(label);
    }
    try {
      if (!valid) throw std::invalid_argument("invalid name or label");
      out.family(name, Type::gauge, r.help);
      out.add(name, labels, r.value);
    } catch (const std::invalid_argument& e) {
      std::lock_guard lock(counts_mutex_);
      if (bad_readings_.insert(kind + " " + plugin + " " + r.name).second)
        log_.warn(kind + " '" + plugin + "' reported a reading Prometheus cannot take ('" + r.name +
                  "'): " + e.what() + "; it is left out");
    }
  }
}

std::string Mediator::metrics_text() {
  Exposition out;
  out.family("vgpu_build_info", Type::gauge, "The mediator's version and plugin SDK version");
  out.add("vgpu_build_info",
          {{"version", VGPU_VERSION},
           {"sdk", std::to_string(sdk::kSdkMajor) + "." + std::to_string(sdk::kSdkMinor)}},
          1);
  std::vector<SchedulerSnapshot> per_device;
  const SchedulerSnapshot snap = merged_snapshot(&per_device);
  out.family("vgpu_config_info", Type::gauge,
             "The configuration in use: its file, a digest of its text, and the policy");
  out.add("vgpu_config_info",
          {{"source", config_.source}, {"digest", config_digest_}, {"policy", snap.policy_name}},
          1);
  out.family("vgpu_policy_changes_total", Type::counter, "Policy changes applied by reloads");
  out.add("vgpu_policy_changes_total", {}, double(snap.policy_changes));
  out.family("vgpu_registered_vms", Type::gauge, "VMs registered in the config DB");
  out.add("vgpu_registered_vms", {}, double(directory_.size()));
  out.family("vgpu_scheduler_up", Type::gauge,
             "1 when the scheduler answered this scrape within 5 s");
  out.add("vgpu_scheduler_up", {}, snap.answered ? 1 : 0);

  // Per device when the mediator drives devices: the same VM may have run on several.
  auto device_label = [&](std::size_t i) {
    return device_labels_ ? Labels{{"device", lanes_[i].name}} : Labels{};
  };
  if (device_labels_)
    for (std::size_t i = 0; i < per_device.size(); ++i)
      per_vm_metrics(out, per_device[i], device_label(i));
  else
    per_vm_metrics(out, snap, {});
  {
    std::lock_guard lock(counts_mutex_);
    for (const auto& [key, n] : refusals_) {
      const auto& [vm_id, pool, priority, reason] = key;
      Labels labels = pool.empty()
                          ? Labels{{"vm", std::to_string(vm_id)}, {"pool", ""}, {"priority", ""}}
                          : vm_labels(vm_id, pool, priority);
      out.add("vgpu_jobs_rejected_total", with(labels, "reason", reason), double(n));
    }
    out.family("vgpu_hellos_total", Type::counter,
               "Identity checks (a connection's HELLO, a file request), per transport and result");
    for (const auto& [key, n] : hellos_)
      out.add("vgpu_hellos_total", {{"transport", key.first}, {"result", key.second}}, double(n));
  }

  const std::string executor = executor_name();
  out.family("vgpu_executor_slots", Type::gauge, "Jobs the executor runs at once");
  out.family("vgpu_executor_slots_busy", Type::gauge, "Slots running a job now");
  out.family("vgpu_executor_held_jobs", Type::gauge,
             "Jobs the policy chose that wait for device admission or for a client to read");
  out.family("vgpu_executor_usable", Type::gauge,
             "1 while the device can take jobs; 0 when its executor reports it unusable");
  out.family("vgpu_executor_restarts_total", Type::counter,
             "Executor worker processes started to replace one that died or lost its GPU");
  out.family("vgpu_executor_warm_ups_total", Type::counter,
             "Warm-up jobs sent to keep the path warm for high-priority VMs (keep_warm_us)");
  for (std::size_t i = 0; i < per_device.size(); ++i) {
    const auto& lane = lanes_[i];
    const auto& dev = per_device[i];
    Labels ex{{"executor", executor}};
    const Labels device = device_label(i);
    ex.insert(ex.end(), device.begin(), device.end());
    out.add("vgpu_executor_slots", ex, double(dev.slots));
    out.add("vgpu_executor_slots_busy", ex, double(dev.running_total));
    out.add("vgpu_executor_held_jobs", ex,
            double(dev.held_for_admission + dev.parked_for_unread_results));
    out.add("vgpu_executor_usable", ex, lane.executor->unusable() ? 0 : 1);
    out.add("vgpu_executor_warm_ups_total", ex, double(dev.warm_ups));
    if (const auto* process =
            dynamic_cast<const isolation::ProcessExecutor*>(lane.executor.object.get()))
      out.add("vgpu_executor_restarts_total", ex, double(process->restarts()));
    if (const auto* t = dynamic_cast<const sdk::Telemetry*>(lane.executor.object.get()))
      publish_readings(out, "executor", executor, *t, device);
  }
  for (std::size_t i = 0; i < transports_.size(); ++i)
    if (const auto* t = dynamic_cast<const sdk::Telemetry*>(transports_[i].object.get()))
      publish_readings(out, "transport", config_.transports[i].name, *t, {});

  out.family("vgpu_policy_stat", Type::gauge, "What the running policy reports about itself");
  for (const auto& [name, value] : snap.policy_stats)
    out.add("vgpu_policy_stat", {{"policy", snap.policy_name}, {"stat", name}}, value);
  out.family("vgpu_plugin_events_total", Type::counter,
             "Events plugins count through the SDK's Metrics (e.g. file.requests)");
  for (const auto& [name, value] : metrics_.values())
    out.add("vgpu_plugin_events_total", {{"event", name}}, value);

  process_metrics(out);
  return out.text();
}

}  // namespace vgpu::core
