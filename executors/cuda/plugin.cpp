// The plugin's one exported symbol: name, version and a factory that checks the settings.
// Without a GPU the factory throws ExecutorUnavailable and the mediator falls back to the next
// configured executor (cpu in the embedded default).
#include <map>

#include "cuda_executor.hpp"
#include "vgpu/sdk/plugin.hpp"

namespace {

std::unique_ptr<vgpu::sdk::Executor> make_cuda_executor(const YAML::Node& settings,
                                                        const vgpu::sdk::PluginContext& ctx) {
  vgpu::sdk::SettingsReader reader(settings);
  vgpu::executors::cuda::CudaExecutorOptions options;
  options.device = reader.get_in_range<int>("device", 0, 0, 64);
  options.slots = reader.get_in_range<unsigned>("slots", 4, 1, 128);
  // Device admission: 0 = no cap beyond slots.
  options.max_in_flight[0] = reader.get_in_range<unsigned>("max_low_in_flight", 0, 0, 128);
  options.max_in_flight[1] = reader.get_in_range<unsigned>("max_medium_in_flight", 0, 0, 128);
  // SM partitions (green contexts).
  options.partitions.high_reserved_sms =
      reader.get_in_range<unsigned>("high_reserved_sms", 0, 0, 4096);
  options.partitions.pool_sms =
      reader.get<std::map<std::string, unsigned>>("pool_sms", std::map<std::string, unsigned>{});
  options.default_memory_quota_bytes =
      std::uint64_t(reader.get_in_range<unsigned>("default_memory_quota_mb", 0, 0, 1u << 24)) << 20;
  options.staging_bytes = std::size_t(reader.get_in_range<unsigned>("staging_mb", 32, 1, 4096))
                          << 20;
  options.ops.fault_injection = reader.get<bool>("fault_injection", false);
  options.ops.busy_poll =
      std::chrono::microseconds(reader.get_in_range<unsigned>("busy_poll_us", 0, 0, 10'000'000));
  options.pin_shared_memory = reader.get<bool>("pin_shared_memory", true);
  reader.reject_unknown_keys();
  options.logger = &ctx.logger;
  try {
    auto executor = std::make_unique<vgpu::executors::cuda::CudaExecutor>(options);
    ctx.logger.info("cuda executor: " + executor->info().device + ", " +
                    std::to_string(options.slots) + " slots");
    if (options.ops.fault_injection)
      ctx.logger.warn("cuda executor: fault_injection is on; any VM can poison the context");
    return executor;
  } catch (const vgpu::executors::cuda::PartitionError& e) {
    throw vgpu::sdk::ConfigError(
        settings["pool_sms"] ? settings["pool_sms"].Mark() : settings.Mark(), e.what());
  }
}

}  // namespace

VGPU_EXPORT_EXECUTOR("cuda", "0.2.0", make_cuda_executor)
