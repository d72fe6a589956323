// The mediator's devices (docs/multi-gpu.md): an executor entry's instances, one per device, each
// with its own policy instance and scheduler, and the placement of VMs on them.
#include "executor_devices.hpp"
#include "isolation/process_executor.hpp"
#include "mediator.hpp"

namespace vgpu::core {

std::unique_ptr<sdk::Executor> Mediator::start_isolated_executor(const PluginSpec& spec,
                                                                 std::size_t index, int device) {
  isolation::ProcessExecutor::Launch launch;
  // The worker is this very program, started with --executor-worker.
  launch.program = std::filesystem::read_symlink("/proc/self/exe");
  launch.setup = {config_.text, config_.source, config_.base_dir, static_cast<std::uint32_t>(index),
                  static_cast<std::int32_t>(device)};
  launch.name = device_name(spec.name, device);
  launch.poll = spec.isolation_poll;
  plugin_logs_.push_back(std::make_unique<SpdLogger>("executor '" + launch.name + "'"));
  try {
    return std::make_unique<isolation::ProcessExecutor>(std::move(launch), *plugin_logs_.back());
  } catch (const isolation::WorkerSetupError& e) {
    switch (e.kind) {
      case isolation::WorkerSetupError::Kind::config:
        throw ConfigFileError(e.what());
      case isolation::WorkerSetupError::Kind::load:
        throw PluginLoadError(e.what());
      default:
        throw;
    }
  }
}

PluginInstance<sdk::Executor> Mediator::make_executor(const PluginSpec& spec, std::size_t index,
                                                      int device) {
  PluginInstance<sdk::Executor> executor;
  if (spec.isolate_process) {
    executor.object = start_isolated_executor(spec, index, device);
    return executor;
  }
  const std::string what = "executor '" + device_name(spec.name, device) + "'";
  auto lib = loader_.load(sdk::PluginKind::executor, spec.name);
  const YAML::Node settings =
      device < 0 ? spec.settings : settings_for_device(spec, device, *lib, config_.source);
  executor.context = context_for(what);
  executor.object = lib->make_executor(settings, *executor.context);
  log_loaded(*lib, what);
  executor.library = std::move(lib);
  return executor;
}

std::vector<DeviceLane> Mediator::make_lanes(const PluginSpec& spec, std::size_t index) {
  std::vector<DeviceLane> lanes;
  auto add = [&](int device) {
    DeviceLane lane;
    lane.index = lanes.size();
    lane.device = device;
    lane.name = device_name(spec.name, device);
    lane.executor = make_executor(spec, index, device);
    lanes.push_back(std::move(lane));
  };
  if (!spec.devices) {
    add(-1);
  } else if (!spec.devices->all) {
    for (int device : spec.devices->numbers) add(device);
  } else {
    // `all`: device 0, 1, ... until the plugin says a device is absent. Absent device 0 means
    // the executor is unavailable, as without `devices:`.
    for (int device = 0; device < DeviceList::kMaxDevices; ++device) {
      try {
        add(device);
      } catch (const sdk::ExecutorUnavailable& e) {
        if (device == 0) throw;
        log_.info("executor '" + spec.name + "': devices: all found " + std::to_string(device) +
                  " (device " + std::to_string(device) + ": " + e.what() + ")");
        break;
      }
    }
  }
  return lanes;
}

void Mediator::make_policies(const PluginSpec& spec,
                             std::vector<PluginInstance<sdk::Policy>>& per_lane,
                             PluginInstance<sdk::Policy>& placer) {
  for (std::size_t i = 0; i < lanes_.size(); ++i) per_lane.push_back(make_policy(spec));
  if (lanes_.size() > 1) {
    placer = make_policy(spec);
    if (!dynamic_cast<sdk::Placement*>(placer.object.get())) placer = {};
  }
}

std::vector<sdk::DeviceLoad> Mediator::device_loads() const {
  std::vector<sdk::DeviceLoad> loads;
  for (const auto& lane : lanes_) {
    sdk::DeviceLoad load;
    load.index = lane.index;
    load.name = lane.name;
    load.slots = lane.slots;  // info() copies the op list: not on every placement
    if (lane.scheduler) {
      const auto now = lane.scheduler->load();
      load.queued = now.queued;
      load.running = now.running;
    }
    load.usable = !lane.executor->unusable();
    loads.push_back(std::move(load));
  }
  return loads;
}

SchedulerSnapshot Mediator::merged_snapshot(std::vector<SchedulerSnapshot>* per_device) {
  if (lanes_.empty() || !lanes_[0].scheduler) return SchedulerSnapshot{.answered = false};
  SchedulerSnapshot merged;
  for (std::size_t i = 0; i < lanes_.size(); ++i) {
    auto snap = lanes_[i].scheduler->snapshot();
    if (i == 0)
      merged = snap;
    else
      merged.merge(snap);
    if (per_device) per_device->push_back(std::move(snap));
  }
  return merged;
}

}  // namespace vgpu::core
