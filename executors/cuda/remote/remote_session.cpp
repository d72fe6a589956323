#include "remote_session.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "blas_gemm_check.hpp"
#include "remote_driver.hpp"

namespace vgpu::executors::cuda::remote {

namespace cc = cuda_calls;

bool is_sticky(CUresult r) {
  switch (r) {
    case CUDA_ERROR_ILLEGAL_ADDRESS:
    case CUDA_ERROR_LAUNCH_FAILED:
    case CUDA_ERROR_HARDWARE_STACK_ERROR:
    case CUDA_ERROR_ILLEGAL_INSTRUCTION:
    case CUDA_ERROR_MISALIGNED_ADDRESS:
    case CUDA_ERROR_INVALID_ADDRESS_SPACE:
    case CUDA_ERROR_INVALID_PC:
    case CUDA_ERROR_ASSERT:
    case CUDA_ERROR_LAUNCH_TIMEOUT:
      return true;
    default:
      return false;
  }
}

namespace {
void check(CUresult r, const char* what) {
  if (r != CUDA_SUCCESS)
    throw std::runtime_error(std::string(what) + ": " + RemoteDriver::get().describe(r));
}

// Keeps the thread's current context as it was: the executor's own jobs on this worker thread
// run in its primary (or green) context, which a session's context must not replace.
class CurrentContext {
 public:
  explicit CurrentContext(CUcontext use) {
    const auto& d = RemoteDriver::get();
    d.ctx_get_current(&previous_);
    if (use) check(d.ctx_set_current(use), "cuCtxSetCurrent");
  }
  ~CurrentContext() { RemoteDriver::get().ctx_set_current(previous_); }
  CurrentContext(const CurrentContext&) = delete;
  CurrentContext& operator=(const CurrentContext&) = delete;

 private:
  CUcontext previous_ = nullptr;
};

// cuLaunchKernelEx's configuration; `attrs` must outlive it.
CUlaunchConfig launch_config(const std::uint32_t grid[3], const std::uint32_t block[3],
                             std::uint32_t shared_bytes, CUstream stream,
                             std::vector<CUlaunchAttribute>& attrs) {
  CUlaunchConfig config{};
  config.gridDimX = grid[0];
  config.gridDimY = grid[1];
  config.gridDimZ = grid[2];
  config.blockDimX = block[0];
  config.blockDimY = block[1];
  config.blockDimZ = block[2];
  config.sharedMemBytes = shared_bytes;
  config.hStream = stream;
  config.attrs = attrs.data();
  config.numAttrs = static_cast<unsigned>(attrs.size());
  return config;
}

void put_u64(std::vector<std::uint8_t>& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_u32(std::vector<std::uint8_t>& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
}  // namespace

RemoteSession::RemoteSession(CUcontext context, bool owns_context, int priority_level,
                             std::uint64_t quota_bytes, SessionLimits limits)
    : quota_bytes_(quota_bytes),
      context_(context),
      owns_context_(owns_context),
      memory_(limits.allocations),
      globals_(limits.allocations),
      modules_(limits.modules),
      functions_(limits.functions),
      streams_(limits.streams),
      events_(limits.events) {
  CurrentContext in_session(context_);
  take_priority_range(priority_level);
}

RemoteSession::RemoteSession(int device, int priority_level, std::uint64_t quota_bytes,
                             SessionLimits limits)
    : RemoteSession(make_context(device), true, priority_level, quota_bytes, limits) {}

RemoteSession::RemoteSession(Owned made, int priority_level, std::uint64_t quota_bytes,
                             SessionLimits limits)
    : RemoteSession(made.context, true, priority_level, quota_bytes, limits) {}

CUcontext RemoteSession::make_context(int device) {
  const auto& d = RemoteDriver::get();
  CUdevice dev = 0;
  check(d.device_get(&dev, device), "cuDeviceGet");
  CurrentContext keep(nullptr);  // cuCtxCreate makes the new context current
  CUcontext context = nullptr;
  check(d.ctx_create(&context, nullptr, CU_CTX_SCHED_AUTO, dev), "cuCtxCreate");
  return context;
}

RemoteSession::RemoteSession(CUcontext shared, int priority_level, std::uint64_t quota_bytes,
                             SessionLimits limits)
    : RemoteSession(shared, false, priority_level, quota_bytes, limits) {
  CurrentContext in_shared(context_);
  const auto& d = RemoteDriver::get();
  // The session's default stream ranks at its VM's level: a high VM's default-stream work
  // comes before a low VM's on the GPU.
  check(d.stream_create(&default_stream_, CU_STREAM_NON_BLOCKING, stream_priority_ceiling_),
        "cuStreamCreateWithPriority");
  check(d.event_create(&default_order_, CU_EVENT_DISABLE_TIMING), "cuEventCreate");
}

void RemoteSession::take_priority_range(int priority_level) {
  // The context is current here. A low VM's waits block instead of spinning, in a context of
  // its own: the host's cores go to the VMs whose latency counts (a shared context's flags are
  // everyone's, and stay).
  if (priority_level <= 0 && owns_context_ && RemoteDriver::get().ctx_set_flags)
    RemoteDriver::get().ctx_set_flags(CU_CTX_SCHED_BLOCKING_SYNC);
  int greatest = 0;
  check(RemoteDriver::get().ctx_get_stream_priority_range(&least_priority_, &greatest),
        "cuCtxGetStreamPriorityRange");
  const int levels[3] = {least_priority_, (least_priority_ + greatest) / 2, greatest};
  stream_priority_ceiling_ = levels[std::clamp(priority_level, 0, 2)];
}

RemoteSession::~RemoteSession() {
  release_everything();
  if (released_) released_();
}

void RemoteSession::release_everything() {
  const auto& d = RemoteDriver::get();
  if (!context_) return;
  {
    CurrentContext in_session(context_);  // the cuBLAS handle goes before its context
    blas_.release();
  }
  if (owns_context_) {
    d.ctx_destroy(context_);  // frees everything in it
    context_ = nullptr;
    return;
  }
  // A shared context stays: give back what this session made in it (errors ignored: after a
  // sticky error in the context nothing more can be freed, and the pool's process is replaced).
  CurrentContext in_shared(context_);
  for (const auto& [ptr, bytes] : memory_.blocks()) d.mem_free(ptr);
  streams_.for_each([&](std::uint64_t, Stream& s) {
    if (s.order) d.event_destroy(s.order);
    d.stream_destroy(s.stream);
  });
  if (default_order_) d.event_destroy(default_order_);
  if (default_stream_) d.stream_destroy(default_stream_);
  events_.for_each([&](std::uint64_t, CUevent& e) { d.event_destroy(e); });
  modules_.for_each([&](std::uint64_t, CUmodule& m) { d.module_unload(m); });
  context_ = nullptr;
}

CUresult RemoteSession::refuse(std::string& message, std::string why, CUresult code) {
  message = std::move(why);
  return code;
}

std::string RemoteSession::check_range(std::uint64_t ptr, std::uint64_t bytes) const {
  auto why = memory_.check_range(ptr, bytes);
  if (why.empty() || globals_.check_range(ptr, bytes).empty()) return {};
  return why;
}

std::optional<CUstream> RemoteSession::stream(std::uint64_t handle) {
  if (owns_context_) {
    if (handle == 0) return CUstream{nullptr};  // the context's own legacy default stream
    if (auto* s = streams_.find(handle)) return s->stream;
    return std::nullopt;
  }
  // In a shared context the legacy default stream is every session's, so each session has its
  // own, and keeps CUDA's legacy order by hand: work on the default stream waits for the
  // session's blocking streams, and work on a blocking stream waits for the default stream.
  const auto& d = RemoteDriver::get();
  if (handle == 0) {
    streams_.for_each([&](std::uint64_t, Stream& s) {
      if (!s.blocking) return;
      d.event_record(s.order, s.stream);
      d.stream_wait_event(default_stream_, s.order, 0);
    });
    return default_stream_;
  }
  auto* s = streams_.find(handle);
  if (!s) return std::nullopt;
  if (s->blocking) {
    d.event_record(default_order_, default_stream_);
    d.stream_wait_event(s->stream, default_order_, 0);
  }
  return s->stream;
}

void RemoteSession::use_shared_memory(std::shared_ptr<GuestMemory> memory) {
  std::call_once(memory->pin_once, [&] {
    const auto& d = RemoteDriver::get();
    CurrentContext in_session(context_);
    // Portable: every context of this process (a pool's) may copy with it. If the host's limits
    // refuse, copies still work, through the driver's own staging.
    const CUresult r =
        d.mem_host_register(memory->base(), memory->size(), CU_MEMHOSTREGISTER_PORTABLE);
    if (r != CUDA_SUCCESS)
      std::fprintf(stderr, "vgpu-cuda-session: %s stays pageable: %s\n", memory->path().c_str(),
                   d.describe(r).c_str());
  });
  shared_ = std::move(memory);
}

bool RemoteSession::to_driver_attributes(const std::vector<cc::LaunchAttribute>& in,
                                         std::vector<CUlaunchAttribute>& out,
                                         std::string& message) const {
  for (const auto& a : in) {
    CUlaunchAttribute attr{};
    attr.id = static_cast<CUlaunchAttributeID>(a.id);
    switch (a.id) {
      case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION:
      case CU_LAUNCH_ATTRIBUTE_PREFERRED_CLUSTER_DIMENSION:
        attr.value.clusterDim.x = a.value[0];
        attr.value.clusterDim.y = a.value[1];
        attr.value.clusterDim.z = a.value[2];
        break;
      case CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
        attr.value.clusterSchedulingPolicyPreference = CUclusterSchedulingPolicy(a.value[0]);
        break;
      case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
        attr.value.cooperative = int(a.value[0]);
        break;
      case CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION:
        attr.value.programmaticStreamSerializationAllowed = int(a.value[0]);
        break;
      case CU_LAUNCH_ATTRIBUTE_PRIORITY:
        // Numerically larger is lower priority: never above the VM's ceiling.
        attr.value.priority = std::max(int(a.value[0]), stream_priority_ceiling_);
        break;
      case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN:
        attr.value.memSyncDomain = CUlaunchMemSyncDomain(a.value[0]);
        break;
      case CU_LAUNCH_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
        attr.value.sharedMemCarveout = a.value[0];
        break;
      default:
        message = "launch attribute " + std::to_string(a.id) + " is not accepted";
        return false;
    }
    out.push_back(attr);
  }
  return true;
}

CUresult RemoteSession::launch(const cc::Launch& c, const std::vector<cc::LaunchAttribute>& attrs,
                               std::string& message) {
  const auto& d = RemoteDriver::get();
  auto* f = functions_.find(c.function);
  if (!f) return refuse(message, "unknown function", CUDA_ERROR_INVALID_HANDLE);
  const auto s = stream(c.stream);
  if (!s) return refuse(message, "unknown stream", CUDA_ERROR_INVALID_HANDLE);
  if (c.params.size() != f->param_bytes)
    return refuse(message, "the kernel takes " + std::to_string(f->param_bytes) +
                               " bytes of parameters, not " + std::to_string(c.params.size()));
  // 8-byte aligned, as the driver expects of a parameter buffer.
  std::vector<std::uint64_t> buffer((c.params.size() + 7) / 8 + 1);
  std::copy(c.params.begin(), c.params.end(), reinterpret_cast<std::uint8_t*>(buffer.data()));
  std::size_t size = c.params.size();
  void* extra[] = {CU_LAUNCH_PARAM_BUFFER_POINTER, buffer.data(), CU_LAUNCH_PARAM_BUFFER_SIZE,
                   &size, CU_LAUNCH_PARAM_END};
  if (attrs.empty())
    return d.launch_kernel(f->function, c.grid[0], c.grid[1], c.grid[2], c.block[0], c.block[1],
                           c.block[2], c.shared_bytes, *s, nullptr, size ? extra : nullptr);
  std::vector<CUlaunchAttribute> driver_attrs;
  if (!to_driver_attributes(attrs, driver_attrs, message)) return CUDA_ERROR_INVALID_VALUE;
  const CUlaunchConfig config = launch_config(c.grid, c.block, c.shared_bytes, *s, driver_attrs);
  return d.launch_kernel_ex(&config, f->function, nullptr, size ? extra : nullptr);
}

std::uint8_t* RemoteSession::shared_range(std::uint64_t offset, std::uint64_t bytes,
                                          std::string& message) {
  if (!shared_) {
    message =
        "this session was given no shared memory (send the batch with its answer placed in "
        "the VM's shared memory first)";
    return nullptr;
  }
  return shared_->range(offset, bytes, message);
}

cc::BatchAnswer RemoteSession::run(std::span<const std::uint8_t> batch,
                                   std::uint64_t budget_bytes) {
  const std::vector<cc::Call> calls = cc::decode_batch(batch);  // throws before anything runs
  budget_ = budget_bytes;
  cc::BatchAnswer answer;
  if (!lost_.empty()) {
    // CUDA's rule after a sticky error: every later call fails the same way.
    answer.result = CUDA_ERROR_ILLEGAL_ADDRESS;
    answer.message = "the session's CUDA context was lost earlier: " + lost_;
    return answer;
  }
  const auto& d = RemoteDriver::get();
  CurrentContext in_session(context_);
  for (const auto& call : calls) {
    ++answer.calls_run;
    std::string message;
    const CUresult r = execute(call, answer.outputs, message);
    if (r != CUDA_SUCCESS) {
      answer.result = r;
      answer.message =
          std::string(cc::call_name(call)) + ": " + (message.empty() ? d.describe(r) : message);
      if (is_sticky(r)) lost_ = answer.message;
      break;
    }
  }
  return answer;
}

CUresult RemoteSession::execute(const cc::Call& call,
                                std::vector<std::vector<std::uint8_t>>& outputs,
                                std::string& message) {
  const auto& d = RemoteDriver::get();
  return std::visit(
      [&](const auto& c) -> CUresult {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, cc::MemAlloc>) {
          if (c.bytes == 0) return refuse(message, "cannot allocate 0 bytes");
          if (memory_.full())
            return refuse(message, "the session holds its limit of allocations",
                          CUDA_ERROR_OUT_OF_MEMORY);
          const std::uint64_t held = memory_.total_bytes();
          if (held > budget_ || c.bytes > budget_ - held)
            return refuse(message,
                          "over the VM's memory quota: " + std::to_string(c.bytes) +
                              " bytes more would exceed what is left of it (" +
                              std::to_string(budget_ > held ? budget_ - held : 0) + " bytes)",
                          CUDA_ERROR_OUT_OF_MEMORY);
          CUdeviceptr ptr = 0;
          if (CUresult r = d.mem_alloc(&ptr, c.bytes)) return r;
          memory_.add(ptr, c.bytes);
          outputs.emplace_back();
          put_u64(outputs.back(), ptr);
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::MemFree>) {
          if (c.ptr == 0) return CUDA_SUCCESS;  // cuMemFree(0) is a no-op in CUDA too
          const auto bytes = memory_.remove(c.ptr);
          if (!bytes) return refuse(message, "not an allocation of this session");
          return d.mem_free(c.ptr);
        } else if constexpr (std::is_same_v<T, cc::MemcpyHtoD>) {
          if (auto why = check_range(c.dst, c.data.size()); !why.empty())
            return refuse(message, "destination: " + why);
          const auto s = stream(c.stream);
          if (!s) return refuse(message, "unknown stream", CUDA_ERROR_INVALID_HANDLE);
          if (c.data.empty()) return CUDA_SUCCESS;
          return d.memcpy_htod_async(c.dst, c.data.data(), c.data.size(), *s);
        } else if constexpr (std::is_same_v<T, cc::MemcpyDtoH>) {
          if (auto why = check_range(c.src, c.bytes); !why.empty())
            return refuse(message, "source: " + why);
          const auto s = stream(c.stream);
          if (!s) return refuse(message, "unknown stream", CUDA_ERROR_INVALID_HANDLE);
          std::vector<std::uint8_t> bytes(c.bytes);  // checked against an allocation above
          if (c.bytes) {
            if (CUresult r = d.memcpy_dtoh_async(bytes.data(), c.src, c.bytes, *s)) return r;
            if (CUresult r = d.stream_synchronize(*s)) return r;
          }
          outputs.push_back(std::move(bytes));
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::MemcpyHtoDShared> ||
                             std::is_same_v<T, cc::MemcpyDtoHShared>) {
          constexpr bool to_device = std::is_same_v<T, cc::MemcpyHtoDShared>;
          std::uint64_t device_ptr = 0;
          if constexpr (to_device)
            device_ptr = c.dst;
          else
            device_ptr = c.src;
          // An empty copy touches no device memory: the guest sends one to learn whether the
          // session has its shared memory.
          std::uint8_t* host = shared_range(c.offset, c.bytes, message);
          if (!host) return CUDA_ERROR_INVALID_VALUE;
          if (c.bytes == 0) return CUDA_SUCCESS;
          if (auto why = check_range(device_ptr, c.bytes); !why.empty())
            return refuse(message, (to_device ? "destination: " : "source: ") + why);
          const auto s = stream(c.stream);
          if (!s) return refuse(message, "unknown stream", CUDA_ERROR_INVALID_HANDLE);
          CUresult r;
          if constexpr (to_device)
            r = d.memcpy_htod_async(device_ptr, host, c.bytes, *s);
          else
            r = d.memcpy_dtoh_async(host, device_ptr, c.bytes, *s);
          // The guest reuses the place once the batch is answered: the copy must be done by then.
          return r ? r : d.stream_synchronize(*s);
        } else if constexpr (std::is_same_v<T, cc::MemcpyDtoD>) {
          if (auto why = check_range(c.src, c.bytes); !why.empty())
            return refuse(message, "source: " + why);
          if (auto why = check_range(c.dst, c.bytes); !why.empty())
            return refuse(message, "destination: " + why);
          const auto s = stream(c.stream);
          if (!s) return refuse(message, "unknown stream", CUDA_ERROR_INVALID_HANDLE);
          if (c.bytes == 0) return CUDA_SUCCESS;
          return d.memcpy_dtod_async(c.dst, c.src, c.bytes, *s);
        } else if constexpr (std::is_same_v<T, cc::Memset>) {
          if (c.count > UINT64_MAX / c.element) return refuse(message, "memset size overflows");
          if (auto why = check_range(c.dst, c.count * c.element); !why.empty())
            return refuse(message, "destination: " + why);
          const auto s = stream(c.stream);
          if (!s) return refuse(message, "unknown stream", CUDA_ERROR_INVALID_HANDLE);
          if (c.count == 0) return CUDA_SUCCESS;
          if (c.element == 1) return d.memset_d8_async(c.dst, std::uint8_t(c.value), c.count, *s);
          if (c.element == 2) return d.memset_d16_async(c.dst, std::uint16_t(c.value), c.count, *s);
          return d.memset_d32_async(c.dst, c.value, c.count, *s);
        } else if constexpr (std::is_same_v<T, cc::ModuleLoad>) {
          if (modules_.size() >= modules_.limit())
            return refuse(message, "the session holds its limit of modules",
                          CUDA_ERROR_OUT_OF_MEMORY);
          // The driver reads the image as a fatbin, cubin or NUL-terminated PTX; a copy with a
          // terminator keeps a malformed image from being read past its end.
          std::vector<std::uint8_t> image(c.image.begin(), c.image.end());
          image.resize(image.size() + 16, 0);
          CUmodule module = nullptr;
          if (CUresult r = d.module_load_data(&module, image.data())) return r;
          const auto handle = modules_.add(module);
          outputs.emplace_back();
          put_u64(outputs.back(), *handle);
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::ModuleUnload>) {
          const auto module = modules_.take(c.module);
          if (!module) return refuse(message, "unknown module", CUDA_ERROR_INVALID_HANDLE);
          std::vector<std::uint64_t> gone;
          functions_.for_each([&](std::uint64_t h, Function& f) {
            if (f.module == c.module) gone.push_back(h);
          });
          for (auto h : gone) functions_.take(h);
          for (auto address : module_globals_[c.module]) globals_.remove(address);
          module_globals_.erase(c.module);
          return d.module_unload(*module);
        } else if constexpr (std::is_same_v<T, cc::GetFunction>) {
          auto* module = modules_.find(c.module);
          if (!module) return refuse(message, "unknown module", CUDA_ERROR_INVALID_HANDLE);
          if (functions_.size() >= functions_.limit())
            return refuse(message, "the session holds its limit of functions",
                          CUDA_ERROR_OUT_OF_MEMORY);
          Function f;
          f.module = c.module;
          if (CUresult r = d.module_get_function(&f.function, *module, c.name.c_str())) return r;
          std::vector<std::uint8_t> out;
          std::vector<std::pair<std::size_t, std::size_t>> params;
          for (std::size_t i = 0;; ++i) {
            std::size_t offset = 0, size = 0;
            if (d.func_get_param_info(f.function, i, &offset, &size) != CUDA_SUCCESS) break;
            params.emplace_back(offset, size);
            f.param_bytes = std::max(f.param_bytes, offset + size);
          }
          const auto handle = functions_.add(f);
          put_u64(out, *handle);
          put_u32(out, static_cast<std::uint32_t>(params.size()));
          for (auto [offset, size] : params) {
            put_u32(out, static_cast<std::uint32_t>(offset));
            put_u32(out, static_cast<std::uint32_t>(size));
          }
          put_u32(out, CU_FUNC_ATTRIBUTE_MAX);
          for (int a = 0; a < CU_FUNC_ATTRIBUTE_MAX; ++a) {
            int value = 0;
            d.func_get_attribute(&value, CUfunction_attribute(a), f.function);
            put_u32(out, static_cast<std::uint32_t>(value));
          }
          outputs.push_back(std::move(out));
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::Launch>) {
          return launch(c, {}, message);
        } else if constexpr (std::is_same_v<T, cc::LaunchEx>) {
          return launch(c.launch, c.attributes, message);
        } else if constexpr (std::is_same_v<T, cc::OccupancyClusters>) {
          auto* f = functions_.find(c.function);
          if (!f) return refuse(message, "unknown function", CUDA_ERROR_INVALID_HANDLE);
          std::vector<CUlaunchAttribute> attrs;
          if (!to_driver_attributes(c.attributes, attrs, message)) return CUDA_ERROR_INVALID_VALUE;
          const CUlaunchConfig config =
              launch_config(c.grid, c.block, c.shared_bytes, nullptr, attrs);
          int value = 0;
          const CUresult r = c.potential_size
                                 ? d.occupancy_cluster_size(&value, f->function, &config)
                                 : d.occupancy_active_clusters(&value, f->function, &config);
          if (r) return r;
          outputs.emplace_back();
          put_u32(outputs.back(), static_cast<std::uint32_t>(value));
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::StreamCreate>) {
          if (streams_.size() >= streams_.limit())
            return refuse(message, "the session holds its limit of streams",
                          CUDA_ERROR_OUT_OF_MEMORY);
          // A VM's streams never rank above its priority: a low VM asking for the greatest
          // stream priority gets its ceiling (numerically larger is lower priority).
          const int priority = std::max(c.priority, stream_priority_ceiling_);
          Stream s;
          s.blocking = !(c.flags & CU_STREAM_NON_BLOCKING);
          if (CUresult r = d.stream_create(&s.stream, c.flags & CU_STREAM_NON_BLOCKING, priority))
            return r;
          if (!owns_context_ && s.blocking)
            if (CUresult r = d.event_create(&s.order, CU_EVENT_DISABLE_TIMING)) {
              d.stream_destroy(s.stream);
              return r;
            }
          const auto handle = streams_.add(s);
          outputs.emplace_back();
          put_u64(outputs.back(), *handle);
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::StreamDestroy>) {
          const auto s = streams_.take(c.stream);
          if (!s) return refuse(message, "unknown stream", CUDA_ERROR_INVALID_HANDLE);
          if (s->order) d.event_destroy(s->order);
          return d.stream_destroy(s->stream);
        } else if constexpr (std::is_same_v<T, cc::StreamSync>) {
          const auto s = stream(c.stream);
          if (!s) return refuse(message, "unknown stream", CUDA_ERROR_INVALID_HANDLE);
          return d.stream_synchronize(*s);
        } else if constexpr (std::is_same_v<T, cc::StreamQuery>) {
          const auto s = stream(c.stream);
          if (!s) return refuse(message, "unknown stream", CUDA_ERROR_INVALID_HANDLE);
          const CUresult r = d.stream_query(*s);
          if (r != CUDA_SUCCESS && r != CUDA_ERROR_NOT_READY) return r;
          outputs.emplace_back();
          put_u32(outputs.back(), static_cast<std::uint32_t>(r));
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::StreamWaitEvent>) {
          const auto s = stream(c.stream);
          auto* e = events_.find(c.event);
          if (!s || !e)
            return refuse(message, "unknown stream or event", CUDA_ERROR_INVALID_HANDLE);
          return d.stream_wait_event(*s, *e, 0);
        } else if constexpr (std::is_same_v<T, cc::EventCreate>) {
          if (events_.size() >= events_.limit())
            return refuse(message, "the session holds its limit of events",
                          CUDA_ERROR_OUT_OF_MEMORY);
          // Blocking sync is the host's business; the guest waits on the batch's answer anyway.
          CUevent e = nullptr;
          if (CUresult r = d.event_create(&e, c.flags & CU_EVENT_DISABLE_TIMING)) return r;
          const auto handle = events_.add(e);
          outputs.emplace_back();
          put_u64(outputs.back(), *handle);
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::EventDestroy>) {
          const auto e = events_.take(c.event);
          if (!e) return refuse(message, "unknown event", CUDA_ERROR_INVALID_HANDLE);
          return d.event_destroy(*e);
        } else if constexpr (std::is_same_v<T, cc::EventRecord>) {
          auto* e = events_.find(c.event);
          const auto s = stream(c.stream);
          if (!s || !e)
            return refuse(message, "unknown stream or event", CUDA_ERROR_INVALID_HANDLE);
          return d.event_record(*e, *s);
        } else if constexpr (std::is_same_v<T, cc::EventSync>) {
          auto* e = events_.find(c.event);
          if (!e) return refuse(message, "unknown event", CUDA_ERROR_INVALID_HANDLE);
          return d.event_synchronize(*e);
        } else if constexpr (std::is_same_v<T, cc::EventQuery>) {
          auto* e = events_.find(c.event);
          if (!e) return refuse(message, "unknown event", CUDA_ERROR_INVALID_HANDLE);
          const CUresult r = d.event_query(*e);
          if (r != CUDA_SUCCESS && r != CUDA_ERROR_NOT_READY) return r;
          outputs.emplace_back();
          put_u32(outputs.back(), static_cast<std::uint32_t>(r));
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::EventElapsed>) {
          auto* a = events_.find(c.start);
          auto* b = events_.find(c.end);
          if (!a || !b) return refuse(message, "unknown event", CUDA_ERROR_INVALID_HANDLE);
          float ms = 0;
          if (CUresult r = d.event_elapsed(&ms, *a, *b)) return r;
          outputs.emplace_back();
          std::uint32_t bits;
          std::memcpy(&bits, &ms, 4);
          put_u32(outputs.back(), bits);
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::CtxSync>) {
          if (owns_context_) return d.ctx_synchronize();
          // A shared context's synchronization would wait for every session: this one's only.
          if (CUresult r = d.stream_synchronize(default_stream_)) return r;
          CUresult first = CUDA_SUCCESS;
          streams_.for_each([&](std::uint64_t, Stream& s) {
            const CUresult r = d.stream_synchronize(s.stream);
            if (first == CUDA_SUCCESS) first = r;
          });
          return first;
        } else if constexpr (std::is_same_v<T, cc::MemInfo>) {
          std::size_t free = 0, total = 0;
          if (CUresult r = d.mem_get_info(&free, &total)) return r;
          if (quota_bytes_) {
            // Under a quota the VM sees its quota as the device's size, and what is left of it.
            total = quota_bytes_;
            const std::uint64_t held = memory_.total_bytes();
            free = std::min<std::uint64_t>(free, budget_ > held ? budget_ - held : 0);
          }
          outputs.emplace_back();
          put_u64(outputs.back(), free);
          put_u64(outputs.back(), total);
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::OccupancySharedMemory>) {
          auto* f = functions_.find(c.function);
          if (!f) return refuse(message, "unknown function", CUDA_ERROR_INVALID_HANDLE);
          std::size_t bytes = 0;
          if (CUresult r =
                  d.occupancy_shared_memory(&bytes, f->function, int(c.blocks), int(c.block_size)))
            return r;
          outputs.emplace_back();
          put_u64(outputs.back(), bytes);
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::FuncSetAttribute>) {
          auto* f = functions_.find(c.function);
          if (!f) return refuse(message, "unknown function", CUDA_ERROR_INVALID_HANDLE);
          if (c.attribute < 0 || c.attribute >= CU_FUNC_ATTRIBUTE_MAX)
            return refuse(message, "attribute " + std::to_string(c.attribute) + " does not exist");
          return d.func_set_attribute(f->function, CUfunction_attribute(c.attribute), c.value);
        } else if constexpr (std::is_same_v<T, cc::GetGlobal>) {
          auto* module = modules_.find(c.module);
          if (!module) return refuse(message, "unknown module", CUDA_ERROR_INVALID_HANDLE);
          CUdeviceptr address = 0;
          std::size_t bytes = 0;
          if (CUresult r = d.module_get_global(&address, &bytes, *module, c.name.c_str())) return r;
          if (bytes && !globals_.check_range(address, bytes).empty()) {  // not looked up yet
            if (globals_.full())
              return refuse(message, "the session holds its limit of globals",
                            CUDA_ERROR_OUT_OF_MEMORY);
            globals_.add(address, bytes);
            module_globals_[c.module].push_back(address);
          }
          outputs.emplace_back();
          put_u64(outputs.back(), address);
          put_u64(outputs.back(), bytes);
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::Occupancy>) {
          auto* f = functions_.find(c.function);
          if (!f) return refuse(message, "unknown function", CUDA_ERROR_INVALID_HANDLE);
          int blocks = 0;
          if (CUresult r = d.occupancy(&blocks, f->function, int(c.block_size), c.shared_bytes))
            return r;
          outputs.emplace_back();
          put_u32(outputs.back(), static_cast<std::uint32_t>(blocks));
          return CUDA_SUCCESS;
        } else if constexpr (std::is_same_v<T, cc::BlasGemm>) {
          return gemm(c, message);
        }
      },
      call);
}

CUresult RemoteSession::gemm(const cc::BlasGemm& g, std::string& message) {
  std::string why;
  const GemmExtents e = gemm_extents(g, why);
  if (!why.empty()) return refuse(message, why);
  const std::pair<const char*, std::pair<std::uint64_t, std::uint64_t>> matrices[] = {
      {"A", {g.a, e.a_bytes}}, {"B", {g.b, e.b_bytes}}, {"C", {g.c, e.c_bytes}}};
  for (const auto& [name, range] : matrices)
    if (range.second)
      if (auto bad = check_range(range.first, range.second); !bad.empty())
        return refuse(message, std::string(name) + ": " + bad);
  const auto s = stream(g.stream);
  if (!s) return refuse(message, "unknown stream", CUDA_ERROR_INVALID_HANDLE);
  return blas_.gemm(g, *s, message);
}

}  // namespace vgpu::executors::cuda::remote
