// The plugin's one exported symbol: name, version and a factory that checks the settings.
#include <thread>

#include "cpu_executor.hpp"
#include "vgpu/sdk/plugin.hpp"

namespace {

std::unique_ptr<vgpu::sdk::Executor> make_cpu_executor(const YAML::Node& settings,
                                                       const vgpu::sdk::PluginContext& ctx) {
  vgpu::sdk::SettingsReader reader(settings);
  const unsigned fallback = std::max(1u, std::thread::hardware_concurrency());
  const auto workers = reader.get_in_range<unsigned>("workers", fallback, 1, 1024);
  // An idle worker watches for the next job this long before sleeping (sdk::WorkerPool).
  const std::chrono::microseconds busy_poll(
      reader.get_in_range<unsigned>("busy_poll_us", 0, 0, 10'000'000));
  reader.reject_unknown_keys();
  ctx.logger.info("cpu executor: " + std::to_string(workers) + " worker threads");
  if (busy_poll.count() > 0 && std::thread::hardware_concurrency() < 4)
    ctx.logger.warn("cpu executor: busy_poll_us on a machine with " +
                    std::to_string(std::thread::hardware_concurrency()) +
                    " CPUs: the polling worker takes a core the jobs need");
  return std::make_unique<vgpu::executors::CpuExecutor>(workers, busy_poll);
}

}  // namespace

VGPU_EXPORT_EXECUTOR("cpu", "1.0.0", make_cpu_executor)
