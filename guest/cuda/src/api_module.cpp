// Modules, libraries, kernels and launches. A module's image goes to the host whole (a
// library's at its first use); a kernel is looked up there once, and comes back with its
// parameter layout (offset and size of each parameter), which turns a launch's
// `void** kernelParams` into the one buffer the host passes to the driver. Libraries and kernels
// (CUDA 12's names) are the same objects as modules and functions here.
#include <cstring>

#include "driver_state.hpp"
#include "fatbin.hpp"

using vgpu::guest::cuda::Driver;
using vgpu::guest::cuda::Function;
using vgpu::guest::cuda::Module;
namespace cc = vgpu::cuda_calls;
namespace gc = vgpu::guest::cuda;
using gc::u32_at;
using gc::u64_at;

namespace {

CUresult ensure_loaded(Driver& drv, Module* module);

// Makes a module of `image`; `lazy`: the image stays here until the module is first used.
CUresult load_module(Driver& drv, const void* image, Module** out, bool lazy) {
  std::string why;
  const auto bytes = gc::module_image(image, why);
  if (!bytes) {
    gc::log_error("cannot load module: " + why);
    return CUDA_ERROR_INVALID_IMAGE;
  }
  auto module = std::make_unique<Module>();
  module->format = bytes->format;
  module->pending_image.assign(bytes->bytes.begin(), bytes->bytes.end());
  if (!lazy)
    if (auto r = ensure_loaded(drv, module.get())) return r;
  *out = module.release();
  drv.modules.insert(*out);
  return CUDA_SUCCESS;
}

CUresult ensure_loaded(Driver& drv, Module* module) {
  if (module->host) return CUDA_SUCCESS;
  std::vector<std::uint8_t> answer;
  if (auto r = drv.link.call(cc::ModuleLoad{module->pending_image}, &answer)) return r;
  module->host = u64_at(answer, 0);
  gc::log_debug("loaded a " + module->format + " of " +
                std::to_string(module->pending_image.size()) + " bytes");
  std::vector<std::uint8_t>().swap(module->pending_image);
  return CUDA_SUCCESS;
}

// A setting of a looked-up kernel: recorded (the host's driver checks it; an error surfaces at
// the next wait), and kept here so that cuFuncGetAttribute reads it back.
CUresult set_attribute(Driver& drv, Function* f, std::int32_t attribute, std::int32_t value) {
  if (auto r = drv.link.record(cc::FuncSetAttribute{f->host, attribute, value})) return r;
  if (std::size_t(attribute) < f->attributes.size()) f->attributes[attribute] = value;
  return CUDA_SUCCESS;
}

// Looks a kernel up on the host (its module loaded first, if it was not yet).
CUresult resolve(Driver& drv, Function* f) {
  if (f->resolved) return CUDA_SUCCESS;
  if (auto r = ensure_loaded(drv, f->module)) return r;
  std::vector<std::uint8_t> a;
  if (auto r = drv.link.call(cc::GetFunction{f->module->host, f->name}, &a)) return r;
  try {
    f->host = u64_at(a, 0);
    const std::uint32_t params = u32_at(a, 8);
    std::size_t at = 12;
    for (std::uint32_t i = 0; i < params; ++i, at += 8) {
      f->params.emplace_back(u32_at(a, at), u32_at(a, at + 4));
      f->param_bytes =
          std::max<std::size_t>(f->param_bytes, f->params.back().first + f->params.back().second);
    }
    const std::uint32_t attributes = u32_at(a, at);
    at += 4;
    for (std::uint32_t i = 0; i < attributes; ++i, at += 4)
      f->attributes.push_back(static_cast<std::int32_t>(u32_at(a, at)));
    f->resolved = true;
    for (const auto& [attribute, value] : f->pending_settings)
      if (auto r = set_attribute(drv, f, attribute, value)) return r;
    f->pending_settings.clear();
    return CUDA_SUCCESS;
  } catch (const std::out_of_range&) {
    f->params.clear();
    f->param_bytes = 0;
    f->attributes.clear();
    gc::log_error("the host's description of kernel " + f->name + " is truncated");
    return CUDA_ERROR_UNKNOWN;
  }
}

// The kernel behind a handle the program passed, looked up on the host if it was not yet.
CUresult resolved_function(Driver& drv, const void* handle, Function*& f) {
  f = drv.function(handle);
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  return resolve(drv, f);
}

// `lazy` (a library's kernel): looked up on the host at its first use; else now, as
// cuModuleGetFunction reports a missing kernel at once.
CUresult get_function(Driver& drv, Module* module, const char* name, Function** out, bool lazy) {
  auto it = module->functions.find(name);
  if (it != module->functions.end()) {
    if (!lazy)
      if (auto r = resolve(drv, it->second.get())) return r;
    *out = it->second.get();
    return CUDA_SUCCESS;
  }
  // A name the host does not know is not kept.
  auto f = std::make_unique<Function>();
  f->module = module;
  f->name = name;
  if (!lazy)
    if (auto r = resolve(drv, f.get())) return r;
  *out = f.get();
  drv.functions.insert(f.get());
  module->functions.emplace(name, std::move(f));
  return CUDA_SUCCESS;
}

CUresult check_dimensions(Driver& drv, const unsigned grid[3], const unsigned block[3]) {
  const auto& a = drv.link.device().attributes;
  const int block_limit[3] = {a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_X],
                              a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Y],
                              a[CU_DEVICE_ATTRIBUTE_MAX_BLOCK_DIM_Z]};
  const int grid_limit[3] = {a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_X],
                             a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Y],
                             a[CU_DEVICE_ATTRIBUTE_MAX_GRID_DIM_Z]};
  std::uint64_t threads = 1;
  for (int i = 0; i < 3; ++i) {
    if (grid[i] == 0 || block[i] == 0) return CUDA_ERROR_INVALID_VALUE;
    if (block[i] > unsigned(block_limit[i]) || grid[i] > unsigned(grid_limit[i]))
      return CUDA_ERROR_INVALID_VALUE;
    threads *= block[i];
  }
  return threads > unsigned(a[CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_BLOCK]) ? CUDA_ERROR_INVALID_VALUE
                                                                          : CUDA_SUCCESS;
}

CUresult get_global(Driver& drv, Module* module, const char* name, CUdeviceptr* address,
                    std::size_t* bytes) {
  auto it = module->globals.find(name);
  if (it == module->globals.end()) {
    if (auto r = ensure_loaded(drv, module)) return r;
    std::vector<std::uint8_t> a;
    if (auto r = drv.link.call(cc::GetGlobal{module->host, name}, &a)) {
      gc::log_debug("global " + std::string(name) + ": CUresult " + std::to_string(int(r)));
      return r;
    }
    if (a.size() != 16) {
      gc::log_error("the host's answer for global " + std::string(name) + " has " +
                    std::to_string(a.size()) + " bytes, not 16");
      return CUDA_ERROR_UNKNOWN;
    }
    gc::log_debug("global " + std::string(name) + ": " + std::to_string(u64_at(a, 8)) + " bytes");
    it = module->globals.emplace(name, std::make_pair(u64_at(a, 0), std::size_t(u64_at(a, 8))))
             .first;
    if (it->second.second) drv.globals[it->second.first] = it->second.second;
  }
  if (address) *address = it->second.first;
  if (bytes) *bytes = it->second.second;
  return CUDA_SUCCESS;
}

void unload(Driver& drv, Module* module) {
  for (auto& [name, global] : module->globals) drv.globals.erase(global.first);
  for (auto& [name, f] : module->functions) drv.functions.erase(f.get());
  drv.modules.erase(module);
  if (module->host) drv.link.record(cc::ModuleUnload{module->host});
  delete module;
}

// cuLaunchKernelEx's attributes that carry plain numbers, for the host (which accepts those
// only); false for another, which this library cannot carry.
bool to_wire_attributes(const CUlaunchAttribute* attrs, unsigned n,
                        std::vector<cc::LaunchAttribute>& out) {
  for (unsigned i = 0; i < n; ++i) {
    const auto& a = attrs[i];
    cc::LaunchAttribute w;
    w.id = a.id;
    switch (a.id) {
      case CU_LAUNCH_ATTRIBUTE_IGNORE:
        continue;
      case CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION:
      case CU_LAUNCH_ATTRIBUTE_PREFERRED_CLUSTER_DIMENSION:
        w.value[0] = a.value.clusterDim.x;
        w.value[1] = a.value.clusterDim.y;
        w.value[2] = a.value.clusterDim.z;
        break;
      case CU_LAUNCH_ATTRIBUTE_CLUSTER_SCHEDULING_POLICY_PREFERENCE:
        w.value[0] = a.value.clusterSchedulingPolicyPreference;
        break;
      case CU_LAUNCH_ATTRIBUTE_COOPERATIVE:
        w.value[0] = std::uint32_t(a.value.cooperative);
        break;
      case CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION:
        w.value[0] = std::uint32_t(a.value.programmaticStreamSerializationAllowed);
        break;
      case CU_LAUNCH_ATTRIBUTE_PRIORITY:
        w.value[0] = std::uint32_t(a.value.priority);
        break;
      case CU_LAUNCH_ATTRIBUTE_MEM_SYNC_DOMAIN:
        w.value[0] = a.value.memSyncDomain;
        break;
      case CU_LAUNCH_ATTRIBUTE_PREFERRED_SHARED_MEMORY_CARVEOUT:
        w.value[0] = a.value.sharedMemCarveout;
        break;
      default:
        gc::log_error("launch attribute " + std::to_string(a.id) + " is not supported");
        return false;
    }
    out.push_back(w);
  }
  return out.size() <= cc::kMaxLaunchAttributes;
}

CUresult launch(Driver& drv, CUfunction handle, const unsigned grid[3], const unsigned block[3],
                unsigned shared, CUstream stream, void** params, void** extra,
                std::vector<cc::LaunchAttribute> attributes = {}) {
  Function* f = nullptr;
  if (auto r = resolved_function(drv, handle, f)) return r;
  std::uint64_t host_stream = 0;
  if (!drv.host_stream(stream, host_stream)) return CUDA_ERROR_INVALID_HANDLE;
  // A launch the device cannot take fails at the call, as with the real driver, rather than at
  // the next synchronization (the limits are the device's, from the session's description).
  if (auto r = check_dimensions(drv, grid, block)) return r;
  std::vector<std::uint8_t> buffer(f->param_bytes);
  if (params) {
    for (std::size_t i = 0; i < f->params.size(); ++i) {
      if (!params[i]) return CUDA_ERROR_INVALID_VALUE;
      std::memcpy(buffer.data() + f->params[i].first, params[i], f->params[i].second);
    }
  } else if (extra) {
    const void* data = nullptr;
    std::size_t size = 0;
    for (std::size_t i = 0; extra[i] != CU_LAUNCH_PARAM_END; i += 2) {
      if (extra[i] == CU_LAUNCH_PARAM_BUFFER_POINTER)
        data = extra[i + 1];
      else if (extra[i] == CU_LAUNCH_PARAM_BUFFER_SIZE)
        size = *static_cast<std::size_t*>(extra[i + 1]);
      else
        return CUDA_ERROR_INVALID_VALUE;
    }
    if (size != f->param_bytes || (size && !data)) return CUDA_ERROR_INVALID_VALUE;
    if (size) std::memcpy(buffer.data(), data, size);
  } else if (f->param_bytes) {
    return CUDA_ERROR_INVALID_VALUE;
  }
  cc::Launch call;
  call.function = f->host;
  call.stream = host_stream;
  for (int i = 0; i < 3; ++i) {
    call.grid[i] = grid[i];
    call.block[i] = block[i];
  }
  call.shared_bytes = shared;
  call.params = buffer;
  if (attributes.empty()) return drv.link.record(call);
  return drv.link.record(cc::LaunchEx{call, std::move(attributes)});
}

}  // namespace

extern "C" {

CUresult CUDAAPI cuModuleLoadData(CUmodule* module, const void* image) {
  if (!module) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Module* m = nullptr;
  if (auto r = load_module(drv, image, &m, false)) return r;
  *module = reinterpret_cast<CUmodule>(m);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleLoadDataEx(CUmodule* module, const void* image, unsigned int,
                                    CUjit_option*, void**) {
  return cuModuleLoadData(module, image);  // JIT options are hints to the host's driver
}

CUresult CUDAAPI cuModuleLoadFatBinary(CUmodule* module, const void* image) {
  return cuModuleLoadData(module, image);
}

CUresult CUDAAPI cuModuleUnload(CUmodule handle) {
  VGPU_ENTER();
  Module* m = drv.module(handle);
  if (!m) return CUDA_ERROR_INVALID_HANDLE;
  unload(drv, m);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleGetFunction(CUfunction* function, CUmodule handle, const char* name) {
  if (!function || !name) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Module* m = drv.module(handle);
  if (!m) return CUDA_ERROR_INVALID_HANDLE;
  Function* f = nullptr;
  if (auto r = get_function(drv, m, name, &f, false)) return r;
  *function = reinterpret_cast<CUfunction>(f);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuLibraryLoadData(CUlibrary* library, const void* code, CUjit_option*, void**,
                                   unsigned int, CUlibraryOption*, void**, unsigned int) {
  if (!library) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Module* m = nullptr;
  if (auto r = load_module(drv, code, &m, true)) return r;
  *library = reinterpret_cast<CUlibrary>(m);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuLibraryUnload(CUlibrary handle) {
  return cuModuleUnload(reinterpret_cast<CUmodule>(handle));
}

CUresult CUDAAPI cuLibraryGetModule(CUmodule* module, CUlibrary handle) {
  if (!module) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  if (!drv.module(handle)) return CUDA_ERROR_INVALID_HANDLE;
  *module = reinterpret_cast<CUmodule>(handle);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuModuleGetGlobal_v2(CUdeviceptr* address, size_t* bytes, CUmodule handle,
                                      const char* name) {
  if (!name) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Module* m = drv.module(handle);
  if (!m) return CUDA_ERROR_INVALID_HANDLE;
  return get_global(drv, m, name, address, bytes);
}

CUresult CUDAAPI cuLibraryGetGlobal(CUdeviceptr* address, size_t* bytes, CUlibrary handle,
                                    const char* name) {
  return cuModuleGetGlobal_v2(address, bytes, reinterpret_cast<CUmodule>(handle), name);
}

// A library is a module here, and a kernel a function, looked up on the host at its first use.
CUresult CUDAAPI cuLibraryGetKernel(CUkernel* kernel, CUlibrary handle, const char* name) {
  if (!kernel || !name) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Module* m = drv.module(handle);
  if (!m) return CUDA_ERROR_INVALID_HANDLE;
  Function* f = nullptr;
  if (auto r = get_function(drv, m, name, &f, true)) return r;
  *kernel = reinterpret_cast<CUkernel>(f);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuKernelGetFunction(CUfunction* function, CUkernel kernel) {
  if (!function) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  if (!drv.function(kernel)) return CUDA_ERROR_INVALID_HANDLE;
  *function = reinterpret_cast<CUfunction>(kernel);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuFuncGetModule(CUmodule* module, CUfunction handle) {
  if (!module) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Function* f = drv.function(handle);
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  *module = reinterpret_cast<CUmodule>(f->module);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuKernelGetLibrary(CUlibrary* library, CUkernel kernel) {
  if (!library) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Function* f = drv.function(kernel);
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  *library = reinterpret_cast<CUlibrary>(f->module);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuFuncGetAttribute(int* value, CUfunction_attribute attribute, CUfunction handle) {
  if (!value) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Function* f = drv.function(handle);
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  if (int(attribute) < 0 || attribute >= CU_FUNC_ATTRIBUTE_MAX) return CUDA_ERROR_INVALID_VALUE;
  if (auto r = resolve(drv, f)) return r;
  *value = gc::function_attribute(*f, attribute);
  return CUDA_SUCCESS;
}

// Kernels' settings (the dynamic shared memory a launch may ask for, above all, which libraries
// raise for their large kernels). A library's kernel not yet looked up keeps its settings until
// it is, so setting them does not load its library.
CUresult CUDAAPI cuFuncSetAttribute(CUfunction handle, CUfunction_attribute attribute, int value) {
  VGPU_ENTER();
  Function* f = drv.function(handle);
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  if (int(attribute) < 0 || attribute >= CU_FUNC_ATTRIBUTE_MAX) return CUDA_ERROR_INVALID_VALUE;
  if (!f->resolved) {
    f->pending_settings.emplace_back(attribute, value);
    return CUDA_SUCCESS;
  }
  return set_attribute(drv, f, attribute, value);
}

CUresult CUDAAPI cuKernelSetAttribute(CUfunction_attribute attribute, int value, CUkernel kernel,
                                      CUdevice) {
  return cuFuncSetAttribute(reinterpret_cast<CUfunction>(kernel), attribute, value);
}

CUresult CUDAAPI cuKernelGetAttribute(int* value, CUfunction_attribute attribute, CUkernel kernel,
                                      CUdevice) {
  return cuFuncGetAttribute(value, attribute, reinterpret_cast<CUfunction>(kernel));
}

CUresult CUDAAPI cuFuncSetCacheConfig(CUfunction handle, CUfunc_cache) {
  VGPU_ENTER();
  return drv.function(handle) ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;  // a preference
}

CUresult CUDAAPI cuKernelSetCacheConfig(CUkernel kernel, CUfunc_cache config, CUdevice) {
  return cuFuncSetCacheConfig(reinterpret_cast<CUfunction>(kernel), config);
}

CUresult CUDAAPI cuFuncGetParamInfo(CUfunction handle, size_t index, size_t* offset, size_t* size) {
  VGPU_ENTER();
  Function* f = nullptr;
  if (auto r = resolved_function(drv, handle, f)) return r;
  if (index >= f->params.size()) return CUDA_ERROR_INVALID_VALUE;
  if (offset) *offset = f->params[index].first;
  if (size) *size = f->params[index].second;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuKernelGetParamInfo(CUkernel kernel, size_t index, size_t* offset, size_t* size) {
  return cuFuncGetParamInfo(reinterpret_cast<CUfunction>(kernel), index, offset, size);
}

CUresult CUDAAPI cuFuncGetName(const char** name, CUfunction handle) {
  if (!name) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Function* f = drv.function(handle);
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  *name = f->name.c_str();
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                                unsigned by, unsigned bz, unsigned shared, CUstream stream,
                                void** params, void** extra) {
  VGPU_ENTER();
  const unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  return launch(drv, f, grid, block, shared, stream, params, extra);
}

CUresult CUDAAPI cuLaunchKernelEx(const CUlaunchConfig* config, CUfunction f, void** params,
                                  void** extra) {
  if (!config || (config->numAttrs && !config->attrs)) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  std::vector<cc::LaunchAttribute> attributes;
  if (!to_wire_attributes(config->attrs, config->numAttrs, attributes))
    return CUDA_ERROR_NOT_SUPPORTED;
  const unsigned grid[3] = {config->gridDimX, config->gridDimY, config->gridDimZ};
  const unsigned block[3] = {config->blockDimX, config->blockDimY, config->blockDimZ};
  return launch(drv, f, grid, block, config->sharedMemBytes, config->hStream, params, extra,
                std::move(attributes));
}

CUresult CUDAAPI cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int* blocks,
                                                                      CUfunction handle,
                                                                      int block_size, size_t shared,
                                                                      unsigned int) {
  if (!blocks || block_size <= 0) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Function* f = nullptr;
  if (auto r = resolved_function(drv, handle, f)) return r;
  std::vector<std::uint8_t> a;
  if (auto r = drv.link.call(cc::Occupancy{f->host, std::uint32_t(block_size), shared}, &a))
    return r;
  *blocks = static_cast<int>(u32_at(a, 0));
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuOccupancyAvailableDynamicSMemPerBlock(size_t* bytes, CUfunction handle,
                                                         int blocks, int block_size) {
  if (!bytes || blocks <= 0 || block_size <= 0) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Function* f = nullptr;
  if (auto r = resolved_function(drv, handle, f)) return r;
  std::vector<std::uint8_t> a;
  if (auto r = drv.link.call(
          cc::OccupancySharedMemory{f->host, std::uint32_t(blocks), std::uint32_t(block_size)}, &a))
    return r;
  *bytes = static_cast<std::size_t>(u64_at(a, 0));
  return CUDA_SUCCESS;
}

// Cluster occupancy (Hopper's thread block clusters), asked of the host for the configuration.
static CUresult cluster_occupancy(int* value, CUfunction handle, const CUlaunchConfig* config,
                                  bool potential_size) {
  if (!value || !config || (config->numAttrs && !config->attrs)) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Function* f = nullptr;
  if (auto r = resolved_function(drv, handle, f)) return r;
  cc::OccupancyClusters call;
  call.function = f->host;
  call.grid[0] = config->gridDimX;
  call.grid[1] = config->gridDimY;
  call.grid[2] = config->gridDimZ;
  call.block[0] = config->blockDimX;
  call.block[1] = config->blockDimY;
  call.block[2] = config->blockDimZ;
  call.shared_bytes = config->sharedMemBytes;
  call.potential_size = potential_size ? 1 : 0;
  if (!to_wire_attributes(config->attrs, config->numAttrs, call.attributes))
    return CUDA_ERROR_NOT_SUPPORTED;
  std::vector<std::uint8_t> a;
  if (auto r = drv.link.call(call, &a)) return r;
  *value = static_cast<int>(u32_at(a, 0));
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuOccupancyMaxActiveClusters(int* clusters, CUfunction f,
                                              const CUlaunchConfig* config) {
  return cluster_occupancy(clusters, f, config, false);
}

CUresult CUDAAPI cuOccupancyMaxPotentialClusterSize(int* size, CUfunction f,
                                                    const CUlaunchConfig* config) {
  return cluster_occupancy(size, f, config, true);
}

CUresult CUDAAPI cuOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, CUfunction f,
                                                             int block_size, size_t shared) {
  return cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(blocks, f, block_size, shared, 0);
}

}  // extern "C"
