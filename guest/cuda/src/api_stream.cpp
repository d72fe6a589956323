// Streams and events. Recording an event and making a stream wait are recorded like launches;
// synchronizing, querying and timing wait for the host.
#include <algorithm>
#include <cstring>

#include "driver_state.hpp"

using vgpu::guest::cuda::Driver;
using vgpu::guest::cuda::Event;
using vgpu::guest::cuda::Stream;
namespace cc = vgpu::cuda_calls;

using vgpu::guest::cuda::u32_at;
using vgpu::guest::cuda::u64_at;

extern "C" {

CUresult CUDAAPI cuStreamCreateWithPriority(CUstream* stream, unsigned int flags, int priority) {
  if (!stream) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  // Clamped to the VM's range as the driver clamps to the device's (the host clamps again).
  const auto& d = drv.link.device();
  priority = std::clamp(priority, d.greatest_priority, d.least_priority);
  std::vector<std::uint8_t> a;
  if (auto r = drv.link.call(cc::StreamCreate{flags, priority}, &a)) return r;
  auto* s = new Stream{u64_at(a), flags, priority};
  drv.streams.insert(s);
  *stream = reinterpret_cast<CUstream>(s);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamCreate(CUstream* stream, unsigned int flags) {
  return cuStreamCreateWithPriority(stream, flags, 0);
}

CUresult CUDAAPI cuStreamDestroy_v2(CUstream stream) {
  VGPU_ENTER();
  auto* s = reinterpret_cast<Stream*>(stream);
  if (!drv.streams.erase(s)) return CUDA_ERROR_INVALID_HANDLE;
  const auto host = s->host;
  delete s;
  return drv.link.record(cc::StreamDestroy{host});
}

CUresult CUDAAPI cuStreamGetPriority(CUstream stream, int* priority) {
  if (!priority) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  std::uint64_t host = 0;
  if (!drv.host_stream(stream, host)) return CUDA_ERROR_INVALID_HANDLE;
  *priority = host ? reinterpret_cast<Stream*>(stream)->priority : 0;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamGetFlags(CUstream stream, unsigned int* flags) {
  if (!flags) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  std::uint64_t host = 0;
  if (!drv.host_stream(stream, host)) return CUDA_ERROR_INVALID_HANDLE;
  *flags = host ? reinterpret_cast<Stream*>(stream)->flags : 0;
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamGetCtx(CUstream stream, CUcontext* ctx) {
  if (!ctx) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  std::uint64_t host = 0;
  if (!drv.host_stream(stream, host)) return CUDA_ERROR_INVALID_HANDLE;
  *ctx = reinterpret_cast<CUcontext>(&drv.primary);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamSynchronize(CUstream stream) {
  VGPU_ENTER();
  std::uint64_t host = 0;
  if (!drv.host_stream(stream, host)) return CUDA_ERROR_INVALID_HANDLE;
  return drv.link.call(cc::StreamSync{host});
}

CUresult CUDAAPI cuStreamQuery(CUstream stream) {
  VGPU_ENTER();
  std::uint64_t host = 0;
  if (!drv.host_stream(stream, host)) return CUDA_ERROR_INVALID_HANDLE;
  std::vector<std::uint8_t> a;
  if (auto r = drv.link.call(cc::StreamQuery{host}, &a)) return r;
  return static_cast<CUresult>(u32_at(a));
}

CUresult CUDAAPI cuStreamWaitEvent(CUstream stream, CUevent event, unsigned int) {
  VGPU_ENTER();
  std::uint64_t host = 0;
  Event* e = drv.event(event);
  if (!drv.host_stream(stream, host) || !e) return CUDA_ERROR_INVALID_HANDLE;
  return drv.link.record(cc::StreamWaitEvent{host, e->host});
}

CUresult CUDAAPI cuEventCreate(CUevent* event, unsigned int flags) {
  if (!event) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  std::vector<std::uint8_t> a;
  if (auto r = drv.link.call(cc::EventCreate{flags}, &a)) return r;
  auto* e = new Event{u64_at(a), flags};
  drv.events.insert(e);
  *event = reinterpret_cast<CUevent>(e);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuEventDestroy_v2(CUevent event) {
  VGPU_ENTER();
  Event* e = drv.event(event);
  if (!e) return CUDA_ERROR_INVALID_HANDLE;
  drv.events.erase(e);
  const auto host = e->host;
  delete e;
  return drv.link.record(cc::EventDestroy{host});
}

CUresult CUDAAPI cuEventRecord(CUevent event, CUstream stream) {
  VGPU_ENTER();
  std::uint64_t host = 0;
  Event* e = drv.event(event);
  if (!drv.host_stream(stream, host) || !e) return CUDA_ERROR_INVALID_HANDLE;
  return drv.link.record(cc::EventRecord{e->host, host});
}

CUresult CUDAAPI cuEventRecordWithFlags(CUevent event, CUstream stream, unsigned int) {
  return cuEventRecord(event, stream);
}

CUresult CUDAAPI cuEventSynchronize(CUevent event) {
  VGPU_ENTER();
  Event* e = drv.event(event);
  if (!e) return CUDA_ERROR_INVALID_HANDLE;
  return drv.link.call(cc::EventSync{e->host});
}

CUresult CUDAAPI cuEventQuery(CUevent event) {
  VGPU_ENTER();
  Event* e = drv.event(event);
  if (!e) return CUDA_ERROR_INVALID_HANDLE;
  std::vector<std::uint8_t> a;
  if (auto r = drv.link.call(cc::EventQuery{e->host}, &a)) return r;
  return static_cast<CUresult>(u32_at(a));
}

CUresult CUDAAPI cuEventElapsedTime_v2(float* ms, CUevent start, CUevent end) {
  if (!ms) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  Event* a = drv.event(start);
  Event* b = drv.event(end);
  if (!a || !b) return CUDA_ERROR_INVALID_HANDLE;
  std::vector<std::uint8_t> out;
  if (auto r = drv.link.call(cc::EventElapsed{a->host, b->host}, &out)) return r;
  const std::uint32_t bits = u32_at(out);
  std::memcpy(ms, &bits, 4);
  return CUDA_SUCCESS;
}

}  // extern "C"

// Stream capture (CUDA graphs) is not provided: no stream is ever capturing, which is what
// libraries ask before they choose how to run (cuBLAS, for one, asks at every call). A program
// that begins a capture gets CUDA_ERROR_NOT_SUPPORTED from cuStreamBeginCapture.
extern "C" {

CUresult CUDAAPI cuStreamIsCapturing(CUstream stream, CUstreamCaptureStatus* status) {
  if (!status) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  std::uint64_t host = 0;
  if (!drv.host_stream(stream, host)) return CUDA_ERROR_INVALID_HANDLE;
  *status = CU_STREAM_CAPTURE_STATUS_NONE;
  return CUDA_SUCCESS;
}

// CUDA 12.3's form, with the edges' data.
CUresult CUDAAPI cuStreamGetCaptureInfo(CUstream stream, CUstreamCaptureStatus* status,
                                        cuuint64_t* id, CUgraph* graph,
                                        const CUgraphNode** dependencies,
                                        const CUgraphEdgeData** edges, size_t* count) {
  if (!status) return CUDA_ERROR_INVALID_VALUE;
  if (auto r = cuStreamIsCapturing(stream, status)) return r;
  if (id) *id = 0;
  if (graph) *graph = nullptr;
  if (dependencies) *dependencies = nullptr;
  if (edges) *edges = nullptr;
  if (count) *count = 0;
  return CUDA_SUCCESS;
}

// CUDA 10.1's form (status and id only), which cuBLASLt still asks for.
CUresult CUDAAPI cuStreamGetCaptureInfo_v1(CUstream stream, CUstreamCaptureStatus* status,
                                           cuuint64_t* id) {
  return cuStreamGetCaptureInfo(stream, status, id, nullptr, nullptr, nullptr, nullptr);
}

// The form before 12.3.
CUresult CUDAAPI cuStreamGetCaptureInfo_v2(CUstream stream, CUstreamCaptureStatus* status,
                                           cuuint64_t* id, CUgraph* graph,
                                           const CUgraphNode** dependencies, size_t* count) {
  return cuStreamGetCaptureInfo(stream, status, id, graph, dependencies, nullptr, count);
}

// The capture mode is per thread and only matters during a capture; it is kept and swapped as
// CUDA does, so that code saving and restoring it works.
CUresult CUDAAPI cuThreadExchangeStreamCaptureMode(CUstreamCaptureMode* mode) {
  if (!mode) return CUDA_ERROR_INVALID_VALUE;
  thread_local CUstreamCaptureMode current = CU_STREAM_CAPTURE_MODE_GLOBAL;
  std::swap(current, *mode);
  return CUDA_SUCCESS;
}

CUresult CUDAAPI cuStreamGetId(CUstream stream, unsigned long long* id) {
  if (!id) return CUDA_ERROR_INVALID_VALUE;
  VGPU_ENTER();
  std::uint64_t host = 0;
  if (!drv.host_stream(stream, host)) return CUDA_ERROR_INVALID_HANDLE;
  *id = host;  // the host's handle: unique in the session, 0 for the default stream
  return CUDA_SUCCESS;
}

}  // extern "C"
