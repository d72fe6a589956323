// The plugin's one exported symbol: name, version, the settings it takes and its factory.
#include <thread>

#include "cpu_executor.hpp"
#include "vgpu/sdk/plugin.hpp"

namespace {

using vgpu::sdk::SettingType;

constexpr vgpu::sdk::SettingSpec kSettings[] = {
    // No default: the machine's CPU count, known only where the mediator runs.
    {"workers", SettingType::integer, 1, 1024, "",
     "worker threads, each running one job at a time (default: one per CPU)", nullptr},
    {"busy_poll_us", SettingType::integer, 0, 10'000'000, "0",
     "an idle worker watches for the next job this long before sleeping", nullptr},
    // Several devices on a machine without GPUs (tests, CI, trying multi-GPU configs): the
    // mediator's `devices:` sets `device`; a number past `simulated_devices` is absent.
    {"device", SettingType::integer, 0, 63, "0",
     "which simulated device this instance is (set by the mediator's 'devices:')", nullptr},
    {"simulated_devices", SettingType::integer, 1, 64, "1",
     "how many devices the host pretends to have, for 'devices: all' and device numbers", nullptr},
};

std::unique_ptr<vgpu::sdk::Executor> make_cpu_executor(const vgpu::sdk::Settings& settings,
                                                       const vgpu::sdk::PluginContext& ctx) {
  const unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
  const unsigned workers =
      settings.has("workers") ? vgpu::sdk::to_unsigned(settings.integer("workers")) : cpus;
  const std::chrono::microseconds busy_poll(settings.integer("busy_poll_us"));
  const auto device = settings.integer("device");
  const auto simulated = settings.integer("simulated_devices");
  // Like a GPU that is not there: the mediator tries the next executor, or `devices: all`
  // stops counting here.
  if (device >= simulated)
    throw vgpu::sdk::ExecutorUnavailable("cpu device " + std::to_string(device) +
                                         " does not exist (simulated_devices is " +
                                         std::to_string(simulated) + ")");
  ctx.logger().info("cpu executor: " + std::to_string(workers) + " worker threads");
  if (busy_poll.count() > 0 && cpus < 4)
    ctx.logger().warn("cpu executor: busy_poll_us on a machine with " + std::to_string(cpus) +
                      " CPUs: the polling worker takes a core the jobs need");
  // Only a `devices:` entry sets `device` (or names several); a plain entry stays "cpu".
  const int shown = settings.has("device") || simulated > 1 ? static_cast<int>(device) : -1;
  return std::make_unique<vgpu::executors::CpuExecutor>(workers, busy_poll, shown);
}

}  // namespace

VGPU_EXPORT_EXECUTOR("cpu", "1.1.0", "runs the built-in ops on host threads (no GPU needed)",
                     vgpu::sdk::schema_of(kSettings), make_cpu_executor)
