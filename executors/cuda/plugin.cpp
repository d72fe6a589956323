// The plugin's one exported symbol: name, version and a factory that checks the settings.
// Without a GPU the factory throws ExecutorUnavailable and the mediator falls back to the next
// configured executor (cpu in the embedded default).
#include "vgpu/sdk/plugin.hpp"
#include "cuda_executor.hpp"

namespace {

std::unique_ptr<vgpu::sdk::Executor> make_cuda_executor(const YAML::Node& settings,
                                                        const vgpu::sdk::PluginContext& ctx) {
  vgpu::sdk::SettingsReader reader(settings);
  vgpu::executors::cuda::CudaExecutorOptions options;
  options.device = reader.get_in_range<int>("device", 0, 0, 64);
  options.slots = reader.get_in_range<unsigned>("slots", 4, 1, 128);
  reader.reject_unknown_keys();
  auto executor = std::make_unique<vgpu::executors::cuda::CudaExecutor>(options);
  ctx.logger.info("cuda executor: " + executor->info().device + ", " +
                  std::to_string(options.slots) + " slots");
  return executor;
}

}  // namespace

VGPU_EXPORT_EXECUTOR("cuda", "0.1.0", make_cuda_executor)
