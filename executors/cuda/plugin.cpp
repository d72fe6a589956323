// The plugin's one exported symbol: name, version, the settings it takes and its factory.
// Without a GPU the factory throws ExecutorUnavailable and the mediator falls back to the next
// configured executor (cpu in the embedded default).
#include <map>
#include <sstream>

#include "cuda_executor.hpp"
#include "vgpu/sdk/plugin.hpp"

namespace {

using vgpu::sdk::SettingType;

constexpr vgpu::sdk::SettingSpec kSettings[] = {
    {"device", SettingType::integer, 0, 64, "0", "the CUDA device index", nullptr},
    {"slots", SettingType::integer, 1, 128, "4", "jobs on the GPU at the same time", nullptr},
    {"max_low_in_flight", SettingType::integer, 0, 128, "0",
     "device admission: low-priority jobs in flight at most (0 = up to slots)", nullptr},
    {"max_medium_in_flight", SettingType::integer, 0, 128, "0",
     "device admission: medium-priority jobs in flight at most (0 = up to slots)", nullptr},
    {"high_reserved_sms", SettingType::integer, 0, 4096, "0",
     "SMs kept for high-priority jobs in a green context of their own, and for a shared pool's "
     "high-priority VMs' remote CUDA programs (0 = none)",
     nullptr},
    {"pool_sms", SettingType::integer_map, 0, 4096, "",
     "SMs of a green context per pool, e.g. {A: 66, B: 66}; pools not named share the rest",
     nullptr},
    {"default_memory_quota_mb", SettingType::integer, 0, 1 << 24, "0",
     "device memory a VM's jobs may hold at once when the DB sets no quota (0 = none)", nullptr},
    {"staging_mb", SettingType::integer, 1, 4096, "32",
     "pinned host memory per slot for copies to and from the device", nullptr},
    {"fault_injection", SettingType::boolean, 0, 0, "false",
     "enable the test-only `fault` op, which poisons the context (never in production)", nullptr},
    {"busy_poll_us", SettingType::integer, 0, 10'000'000, "0",
     "an idle slot watches for work, and for its job's end, this long before sleeping", nullptr},
    {"low_slice_us", SettingType::integer, 0, 1'000'000, "0",
     "below high priority, spin and work run as launches of at most this long, so a high job "
     "waits at most one slice for an SM (0 = off)",
     nullptr},
    {"pin_shared_memory", SettingType::boolean, 0, 0, "true",
     "page-lock clients' shared memory on first use, so outputs are copied straight there",
     nullptr},
    {"remote_cuda", SettingType::boolean, 0, 0, "true",
     "offer cuda.open/cuda.calls/cuda.close: guests' own CUDA programs through libvgpu-cuda, "
     "each in a process and CUDA context of its own",
     nullptr},
    {"remote_sessions_per_vm", SettingType::integer, 1, 1024, "16",
     "remote CUDA sessions (guest programs) a VM may hold at once", nullptr},
    {"remote_idle_timeout_s", SettingType::integer, 1, 86400, "600",
     "a remote CUDA session unused this long ends (its guest program died without closing)",
     nullptr},
    {"remote_batch_timeout_s", SettingType::integer, 0, 86400, "300",
     "the longest one batch of a guest program's calls may run on the GPU; past it the "
     "program's session process is killed, so a kernel that never ends cannot hold a slot "
     "(0 = no limit)",
     nullptr},
    {"remote_shared_pools", SettingType::text, 0, 0, "",
     "pools whose guest CUDA programs share one process and context, comma-separated: priority "
     "across their VMs, but a fault in one program reaches all of them (docs/remote-cuda.md)",
     nullptr},
    {"remote_spare_session", SettingType::boolean, 0, 0, "true",
     "keep one isolated session process started, its CUDA context made, for the next guest "
     "program (its start-up then costs the program nothing; it holds a context's device memory)",
     nullptr},
    {"remote_session_program", SettingType::text, 0, 0, "",
     "the vgpu-cuda-session program (empty: the one beside the mediator, else on PATH)", nullptr},
};

std::unique_ptr<vgpu::sdk::Executor> make_cuda_executor(const vgpu::sdk::Settings& settings,
                                                        const vgpu::sdk::PluginContext& ctx) {
  using vgpu::sdk::to_unsigned;
  vgpu::executors::cuda::CudaExecutorOptions options;
  options.device = static_cast<int>(settings.integer("device"));
  options.slots = to_unsigned(settings.integer("slots"));
  options.max_in_flight[0] = to_unsigned(settings.integer("max_low_in_flight"));
  options.max_in_flight[1] = to_unsigned(settings.integer("max_medium_in_flight"));
  options.partitions.high_reserved_sms = to_unsigned(settings.integer("high_reserved_sms"));
  for (const auto& [pool, sms] : settings.integer_map("pool_sms"))
    options.partitions.pool_sms[pool] = to_unsigned(sms);
  options.default_memory_quota_bytes = std::uint64_t(settings.integer("default_memory_quota_mb"))
                                       << 20;
  options.staging_bytes = std::size_t(settings.integer("staging_mb")) << 20;
  options.ops.fault_injection = settings.boolean("fault_injection");
  options.ops.busy_poll = std::chrono::microseconds(settings.integer("busy_poll_us"));
  options.ops.low_slice = std::chrono::microseconds(settings.integer("low_slice_us"));
  options.pin_shared_memory = settings.boolean("pin_shared_memory");
  options.remote_cuda = settings.boolean("remote_cuda");
  options.remote.max_sessions_per_vm = to_unsigned(settings.integer("remote_sessions_per_vm"));
  options.remote.idle_timeout = std::chrono::seconds(settings.integer("remote_idle_timeout_s"));
  options.remote.program = settings.text("remote_session_program");
  options.remote.spare_session = settings.boolean("remote_spare_session");
  options.remote.batch_timeout =
      std::chrono::milliseconds(settings.integer("remote_batch_timeout_s") * 1000);
  {
    std::stringstream pools(settings.text("remote_shared_pools"));
    for (std::string pool; std::getline(pools, pool, ',');) {
      pool.erase(0, pool.find_first_not_of(' '));
      pool.erase(pool.find_last_not_of(' ') + 1);
      if (!pool.empty()) options.remote.shared_pools.insert(pool);
    }
  }
  options.logger = &ctx.logger();
  try {
    auto executor = std::make_unique<vgpu::executors::cuda::CudaExecutor>(options);
    ctx.logger().info("cuda executor: " + executor->info().device + ", " +
                      std::to_string(options.slots) + " slots");
    if (options.ops.fault_injection)
      ctx.logger().warn("cuda executor: fault_injection is on; any VM can poison the context");
    return executor;
  } catch (const vgpu::executors::cuda::PartitionError& e) {
    settings.reject("pool_sms", e.what());
  }
}

}  // namespace

VGPU_EXPORT_EXECUTOR(
    "cuda", "0.4.0",
    "runs the built-in ops and guests' own CUDA programs on an NVIDIA GPU, by priority",
    vgpu::sdk::schema_of(kSettings), make_cuda_executor)
