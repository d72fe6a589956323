// Device memory and copies. Allocation and copies back to the program wait for the host;
// copies to the device and memsets are recorded (their bytes captured at once, so the program
// may reuse its buffer as soon as the call returns) and go with the next batch. Large copies go
// through the VM's shared memory when the program holds a slot of it: the program's bytes are
// copied into one half of the slot while the host copies the other half to or from the device.
#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "driver_state.hpp"

using vgpu::guest::cuda::Driver;
namespace cc = vgpu::cuda_calls;

namespace {

// Through the slot: chunk i is written into half i % 2 while the batch that copies chunk i - 1
// from the other half runs on the host; the call returns once the last chunk is on its way to
// the device (the host is done reading the slot), as CUDA's copy from pageable memory does.
CUresult htod_staged(Driver& drv, CUdeviceptr dst, const std::uint8_t* p, std::size_t bytes,
                     std::uint64_t host_stream) {
  auto& link = drv.link;
  std::size_t done = 0;
  for (int half = 0; done < bytes; half ^= 1) {
    const auto place = link.staging_half(half);
    const std::size_t n = std::min(place.size(), bytes - done);
    link.copier().copy(place.data(), p + done, n);
    if (auto r = link.send(cc::MemcpyHtoDShared{dst + done, link.staging_offset(half), n,
                                                host_stream}))  // waits for the other half first
      return r;
    done += n;
  }
  return link.wait_sent();
}

// Through the slot the other way: the host fills one half while the program reads the other.
CUresult dtoh_staged(Driver& drv, std::uint8_t* p, CUdeviceptr src, std::size_t bytes,
                     std::uint64_t host_stream) {
  auto& link = drv.link;
  const std::size_t chunk = link.staging_half(0).size();
  std::size_t asked = std::min(chunk, bytes);
  if (auto r = link.send(cc::MemcpyDtoHShared{src, link.staging_offset(0), asked, host_stream}))
    return r;
  std::size_t done = 0;
  for (int half = 0; done < bytes; half ^= 1) {
    const std::size_t n = std::min(chunk, bytes - done);
    if (auto r = link.wait_sent()) return r;  // chunk `done` is in `half` now
    if (asked < bytes) {
      const std::size_t m = std::min(chunk, bytes - asked);
      if (auto r = link.send(
              cc::MemcpyDtoHShared{src + asked, link.staging_offset(half ^ 1), m, host_stream}))
        return r;
      asked += m;
    }
    link.copier().copy(p + done, link.staging_half(half).data(), n);
    done += n;
  }
  return CUDA_SUCCESS;
}

CUresult htod(Driver& drv, CUdeviceptr dst, const void* src, std::size_t bytes, CUstream stream) {
  std::uint64_t host_stream = 0;
  if (!drv.host_stream(stream, host_stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (bytes && !src) return CUDA_ERROR_INVALID_VALUE;
  const auto* p = static_cast<const std::uint8_t*>(src);
  if (drv.link.has_staging() && bytes >= drv.link.staging_min_bytes())
    return htod_staged(drv, dst, p, bytes, host_stream);
  const std::size_t chunk = drv.link.max_copy_bytes();
  std::size_t done = 0;
  do {
    const std::size_t n = std::min(chunk, bytes - done);
    if (auto r = drv.link.record(cc::MemcpyHtoD{dst + done, host_stream, {p + done, n}})) return r;
    done += n;
  } while (done < bytes);
  return CUDA_SUCCESS;
}

// `wait`: a copy the call returns after (cuMemcpyDtoH); else recorded, its bytes written when
// its batch comes back (cuMemcpyDtoHAsync).
CUresult dtoh(Driver& drv, void* dst, CUdeviceptr src, std::size_t bytes, CUstream stream,
              bool wait) {
  std::uint64_t host_stream = 0;
  if (!drv.host_stream(stream, host_stream)) return CUDA_ERROR_INVALID_HANDLE;
  if (bytes && !dst) return CUDA_ERROR_INVALID_VALUE;
  auto* p = static_cast<std::uint8_t*>(dst);
  if (wait && drv.link.has_staging() && bytes >= drv.link.staging_min_bytes())
    return dtoh_staged(drv, p, src, bytes, host_stream);
  const std::size_t chunk = drv.link.max_copy_bytes();
  std::size_t done = 0;
  do {
    const std::size_t n = std::min(chunk, bytes - done);
    const cc::MemcpyDtoH call{src + done, n, host_stream};
    if (!wait) {
      if (auto r = drv.link.record_copy_back(call, p + done)) return r;
    } else {
      std::vector<std::uint8_t> out;
      if (auto r = drv.link.call(call, &out)) return r;
      if (out.size() != n) return CUDA_ERROR_UNKNOWN;
      std::memcpy(p + done, out.data(), n);
    }
    done += n;
  } while (done < bytes);
  return CUDA_SUCCESS;
}

CUresult dtod(Driver& drv, CUdeviceptr dst, CUdeviceptr src, std::size_t bytes, CUstream stream) {
  std::uint64_t host_stream = 0;
  if (!drv.host_stream(stream, host_stream)) return CUDA_ERROR_INVALID_HANDLE;
  return drv.link.record(cc::MemcpyDtoD{dst, src, bytes, host_stream});
}

// cuMemcpy with unified addressing: which side each pointer is on decides the direction.
CUresult any_copy(Driver& drv, CUdeviceptr dst, CUdeviceptr src, std::size_t bytes, CUstream stream,
                  bool wait) {
  const bool d = drv.is_device(dst), s = drv.is_device(src);
  if (d && s) return dtod(drv, dst, src, bytes, stream);
  if (d) return htod(drv, dst, reinterpret_cast<const void*>(src), bytes, stream);
  if (s)
    return dtoh(drv, reinterpret_cast<void*>(dst), src, bytes, stream,
                wait || !drv.is_page_locked(reinterpret_cast<void*>(dst), bytes));
  std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes);
  return CUDA_SUCCESS;
}

CUresult memset(Driver& drv, CUdeviceptr dst, std::uint32_t value, std::size_t count,
                std::uint8_t element, CUstream stream) {
  std::uint64_t host_stream = 0;
  if (!drv.host_stream(stream, host_stream)) return CUDA_ERROR_INVALID_HANDLE;
  return drv.link.record(cc::Memset{dst, count, host_stream, value, element});
}

}  // namespace

extern "C" {

CUresult CUDAAPI cuMemAlloc_v2(CUdeviceptr* ptr, size_t bytes) {
  if (!ptr) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  std::vector<std::uint8_t> out;
  if (auto r = drv.link.call(cc::MemAlloc{bytes}, &out)) return r;
  *ptr = vgpu::guest::cuda::u64_at(out, 0);
  drv.allocations[*ptr] = bytes;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemFree_v2(CUdeviceptr ptr) {
  VGPU_ENTER();
  if (ptr == 0) return CUDA_SUCCESS;
  if (!drv.allocations.erase(ptr)) return CUDA_ERROR_INVALID_VALUE;
  // cuMemFree waits for the device to be done with the memory; the host's free does the same.
  return drv.link.call(cc::MemFree{ptr});
}

CUresult CUDAAPI cuMemGetInfo_v2(size_t* free, size_t* total) {
  VGPU_ENTER();
  std::vector<std::uint8_t> out;
  if (auto r = drv.link.call(cc::MemInfo{}, &out)) return r;
  if (free) *free = vgpu::guest::cuda::u64_at(out, 0);
  if (total) *total = vgpu::guest::cuda::u64_at(out, 8);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemGetAddressRange_v2(CUdeviceptr* base, size_t* size, CUdeviceptr ptr) {
  VGPU_ENTER();
  auto it = drv.allocations.upper_bound(ptr);
  if (it == drv.allocations.begin()) return CUDA_ERROR_NOT_FOUND;
  --it;
  if (ptr - it->first >= it->second) return CUDA_ERROR_NOT_FOUND;
  if (base) *base = it->first;
  if (size) *size = it->second;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
  VGPU_ENTER();
  return htod(drv, dst, src, bytes, nullptr);
}
CUresult CUDAAPI cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes,
                                      CUstream stream) {
  VGPU_ENTER();
  return htod(drv, dst, src, bytes, stream);
}
CUresult CUDAAPI cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
  VGPU_ENTER();
  return dtoh(drv, dst, src, bytes, nullptr, true);
}
// Into page-locked memory the program may read `dst` only after synchronizing, so the bytes
// arrive with the batch; into pageable memory CUDA returns once the copy is done, and so does
// this.
CUresult CUDAAPI cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, CUstream stream) {
  VGPU_ENTER();
  return dtoh(drv, dst, src, bytes, stream, !drv.is_page_locked(dst, bytes));
}
CUresult CUDAAPI cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  VGPU_ENTER();
  return dtod(drv, dst, src, bytes, nullptr);
}
CUresult CUDAAPI cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes,
                                      CUstream stream) {
  VGPU_ENTER();
  return dtod(drv, dst, src, bytes, stream);
}
CUresult CUDAAPI cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  VGPU_ENTER();
  return any_copy(drv, dst, src, bytes, nullptr, true);
}
CUresult CUDAAPI cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t bytes, CUstream stream) {
  VGPU_ENTER();
  return any_copy(drv, dst, src, bytes, stream, false);
}

CUresult CUDAAPI cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t n) {
  VGPU_ENTER();
  return memset(drv, dst, value, n, 1, nullptr);
}
CUresult CUDAAPI cuMemsetD16_v2(CUdeviceptr dst, unsigned short value, size_t n) {
  VGPU_ENTER();
  return memset(drv, dst, value, n, 2, nullptr);
}
CUresult CUDAAPI cuMemsetD32_v2(CUdeviceptr dst, unsigned int value, size_t n) {
  VGPU_ENTER();
  return memset(drv, dst, value, n, 4, nullptr);
}
CUresult CUDAAPI cuMemsetD8Async(CUdeviceptr dst, unsigned char value, size_t n, CUstream s) {
  VGPU_ENTER();
  return memset(drv, dst, value, n, 1, s);
}
CUresult CUDAAPI cuMemsetD16Async(CUdeviceptr dst, unsigned short value, size_t n, CUstream s) {
  VGPU_ENTER();
  return memset(drv, dst, value, n, 2, s);
}
CUresult CUDAAPI cuMemsetD32Async(CUdeviceptr dst, unsigned int value, size_t n, CUstream s) {
  VGPU_ENTER();
  return memset(drv, dst, value, n, 4, s);
}

// Page-locked host memory: in a guest it is ordinary memory (the bytes travel in the batch
// either way), so these allocate and free it here.
CUresult CUDAAPI cuMemHostAlloc(void** ptr, size_t bytes, unsigned int) {
  if (!ptr) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  if (bytes > SIZE_MAX - 4095) return CUDA_ERROR_OUT_OF_MEMORY;  // rounding up would wrap
  void* p = std::aligned_alloc(4096, (std::max<std::size_t>(bytes, 1) + 4095) / 4096 * 4096);
  if (!p) return CUDA_ERROR_OUT_OF_MEMORY;
  drv.host_buffers[reinterpret_cast<std::uintptr_t>(p)] = bytes;
  *ptr = p;
  return CUDA_SUCCESS;
}
CUresult CUDAAPI cuMemAllocHost_v2(void** ptr, size_t bytes) {
  return cuMemHostAlloc(ptr, bytes, 0);
}
CUresult CUDAAPI cuMemFreeHost(void* ptr) {
  VGPU_ENTER();
  if (!drv.host_buffers.erase(reinterpret_cast<std::uintptr_t>(ptr)))
    return CUDA_ERROR_INVALID_VALUE;
  std::free(ptr);
  return CUDA_SUCCESS;
}
// Nothing to lock in a guest (copies read the bytes at the call), but the range is remembered:
// asynchronous copies back into it may then return before they are done.
CUresult CUDAAPI cuMemHostRegister_v2(void* p, size_t bytes, unsigned int) {
  if (!p || !bytes) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  drv.registered[reinterpret_cast<std::uintptr_t>(p)] = bytes;
  return CUDA_SUCCESS;
}
CUresult CUDAAPI cuMemHostUnregister(void* p) {
  VGPU_ENTER();
  return drv.registered.erase(reinterpret_cast<std::uintptr_t>(p))
             ? CUDA_SUCCESS
             : CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED;
}

CUresult CUDAAPI cuPointerGetAttribute(void* data, CUpointer_attribute attribute, CUdeviceptr ptr) {
  if (!data) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  const bool device = drv.is_device(ptr);
  switch (attribute) {
    case CU_POINTER_ATTRIBUTE_CONTEXT:
      if (!device) return CUDA_ERROR_INVALID_VALUE;
      *static_cast<CUcontext*>(data) = reinterpret_cast<CUcontext>(&drv.primary);
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
      if (!device) return CUDA_ERROR_INVALID_VALUE;
      *static_cast<unsigned*>(data) = CU_MEMORYTYPE_DEVICE;
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
      if (!device) return CUDA_ERROR_INVALID_VALUE;
      *static_cast<CUdeviceptr*>(data) = ptr;
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
      if (!device) return CUDA_ERROR_INVALID_VALUE;
      *static_cast<int*>(data) = 0;
      return CUDA_SUCCESS;
    case CU_POINTER_ATTRIBUTE_IS_MANAGED:
      *static_cast<int*>(data) = 0;
      return CUDA_SUCCESS;
    default:
      return CUDA_ERROR_NOT_SUPPORTED;
  }
}

CUresult CUDAAPI cuPointerGetAttributes(unsigned int n, CUpointer_attribute* attributes,
                                        void** data, CUdeviceptr ptr) {
  if (!attributes || !data) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  const bool device = drv.is_device(ptr);
  for (unsigned i = 0; i < n; ++i) {
    if (!data[i]) continue;
    switch (attributes[i]) {
      case CU_POINTER_ATTRIBUTE_CONTEXT:
        *static_cast<CUcontext*>(data[i]) =
            device ? reinterpret_cast<CUcontext>(&drv.primary) : nullptr;
        break;
      case CU_POINTER_ATTRIBUTE_MEMORY_TYPE:
        // 0 (unregistered host memory) for anything not allocated on the device.
        *static_cast<unsigned*>(data[i]) = device ? CU_MEMORYTYPE_DEVICE : 0;
        break;
      case CU_POINTER_ATTRIBUTE_DEVICE_POINTER:
        *static_cast<CUdeviceptr*>(data[i]) = device ? ptr : 0;
        break;
      case CU_POINTER_ATTRIBUTE_HOST_POINTER:
        *static_cast<void**>(data[i]) = device ? nullptr : reinterpret_cast<void*>(ptr);
        break;
      case CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL:
        *static_cast<int*>(data[i]) = device ? 0 : -2;
        break;
      case CU_POINTER_ATTRIBUTE_IS_MANAGED:
      case CU_POINTER_ATTRIBUTE_MAPPED:
        *static_cast<int*>(data[i]) = 0;
        break;
      default:
        break;  // left as the program set it
    }
  }
  return CUDA_SUCCESS;
}

}  // extern "C"
