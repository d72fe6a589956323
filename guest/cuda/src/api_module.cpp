// Modules, libraries, kernels and launches. A module's image goes to the host whole; a kernel
// is looked up there once, and comes back with its parameter layout (offset and size of each
// parameter), which turns a launch's `void** kernelParams` into the one buffer the host passes
// to the driver. Libraries and kernels (CUDA 12's names) are the same objects as modules and
// functions here.
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

CUresult load_module(Driver& drv, const void* image, Module** out) {
  std::string why;
  const auto bytes = gc::module_image(image, why);
  if (!bytes) {
    gc::log_error("cannot load module: " + why);
    return CUDA_ERROR_INVALID_IMAGE;
  }
  std::vector<std::uint8_t> answer;
  if (auto r = drv.link.call(cc::ModuleLoad{bytes->bytes}, &answer)) return r;
  auto module = std::make_unique<Module>();
  module->host = u64_at(answer, 0);
  *out = module.release();
  drv.modules.insert(*out);
  gc::log_debug("loaded a " + std::string(bytes->format) + " of " +
                std::to_string(bytes->bytes.size()) + " bytes");
  return CUDA_SUCCESS;
}

CUresult get_function(Driver& drv, Module* module, const char* name, Function** out) {
  if (auto it = module->functions.find(name); it != module->functions.end()) {
    *out = it->second.get();
    return CUDA_SUCCESS;
  }
  std::vector<std::uint8_t> a;
  if (auto r = drv.link.call(cc::GetFunction{module->host, name}, &a)) return r;
  try {
    auto f = std::make_unique<Function>();
    f->host = u64_at(a, 0);
    f->module = module;
    f->name = name;
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
    *out = f.get();
    drv.functions.insert(f.get());
    module->functions.emplace(name, std::move(f));
    return CUDA_SUCCESS;
  } catch (const std::out_of_range&) {
    gc::log_error("the host's description of kernel " + std::string(name) + " is truncated");
    return CUDA_ERROR_UNKNOWN;
  }
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
    std::vector<std::uint8_t> a;
    if (auto r = drv.link.call(cc::GetGlobal{module->host, name}, &a)) return r;
    if (a.size() != 16) return CUDA_ERROR_UNKNOWN;
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
  drv.link.record(cc::ModuleUnload{module->host});
  delete module;
}

CUresult launch(Driver& drv, CUfunction handle, const unsigned grid[3], const unsigned block[3],
                unsigned shared, CUstream stream, void** params, void** extra) {
  Function* f = drv.function(handle);
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
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
  return drv.link.record(call);
}

}  // namespace

extern "C" {

CUresult CUDAAPI cuModuleLoadData(CUmodule* module, const void* image) {
  if (!module) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Module* m = nullptr;
  if (auto r = load_module(drv, image, &m)) return r;
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
  if (auto r = get_function(drv, m, name, &f)) return r;
  *function = reinterpret_cast<CUfunction>(f);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuLibraryLoadData(CUlibrary* library, const void* code, CUjit_option*, void**,
                                   unsigned int, CUlibraryOption*, void**, unsigned int) {
  if (!library) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Module* m = nullptr;
  if (auto r = load_module(drv, code, &m)) return r;
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

// A library is a module here, and a kernel a function.
CUresult CUDAAPI cuLibraryGetKernel(CUkernel* kernel, CUlibrary handle, const char* name) {
  return cuModuleGetFunction(reinterpret_cast<CUfunction*>(kernel),
                             reinterpret_cast<CUmodule>(handle), name);
}

CUresult CUDAAPI cuKernelGetFunction(CUfunction* function, CUkernel kernel) {
  if (!function) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  if (!drv.function(kernel)) return CUDA_ERROR_INVALID_HANDLE;
  *function = reinterpret_cast<CUfunction>(kernel);
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
  *value = gc::function_attribute(*f, attribute);
  return CUDA_SUCCESS;
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
  Function* f = drv.function(handle);
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
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
  if (!config) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  for (unsigned i = 0; i < config->numAttrs; ++i)
    if (config->attrs[i].id != CU_LAUNCH_ATTRIBUTE_PRIORITY) {
      gc::log_error("cuLaunchKernelEx: launch attribute " + std::to_string(config->attrs[i].id) +
                    " is not supported");
      return CUDA_ERROR_NOT_SUPPORTED;
    }
  const unsigned grid[3] = {config->gridDimX, config->gridDimY, config->gridDimZ};
  const unsigned block[3] = {config->blockDimX, config->blockDimY, config->blockDimZ};
  return launch(drv, f, grid, block, config->sharedMemBytes, config->hStream, params, extra);
}

CUresult CUDAAPI cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(int* blocks,
                                                                      CUfunction handle,
                                                                      int block_size, size_t shared,
                                                                      unsigned int) {
  if (!blocks || block_size <= 0) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Function* f = drv.function(handle);
  if (!f) return CUDA_ERROR_INVALID_HANDLE;
  std::vector<std::uint8_t> a;
  if (auto r = drv.link.call(cc::Occupancy{f->host, std::uint32_t(block_size), shared}, &a))
    return r;
  *blocks = static_cast<int>(u32_at(a, 0));
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuOccupancyMaxActiveBlocksPerMultiprocessor(int* blocks, CUfunction f,
                                                             int block_size, size_t shared) {
  return cuOccupancyMaxActiveBlocksPerMultiprocessorWithFlags(blocks, f, block_size, shared, 0);
}

}  // extern "C"
