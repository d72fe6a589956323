#include "driver_state.hpp"

#include "fault_report.hpp"

#include <cstdlib>

namespace vgpu::guest::cuda {

Driver& Driver::get() {
  // Never destroyed: a program's static destructors may still call the driver at exit.
  static Driver* driver = [] {
    auto* d = new Driver;
    std::atexit([] { Driver::get().link.close(); });
    return d;
  }();
  return *driver;
}

CUresult Driver::init() {
  std::lock_guard lock(mutex);
  if (initialized_) return init_result_;
  initialized_ = true;
  report_faults_when_tracing();
  std::string error;
  init_result_ = link.open(error);
  if (init_result_ != CUDA_SUCCESS)
    log_error(error);
  else
    log_debug("session " + std::to_string(link.device().session) + " on " + link.device().name);
  return init_result_;
}

bool Driver::host_stream(CUstream stream, std::uint64_t& host) const {
  if (stream == nullptr || stream == CU_STREAM_LEGACY || stream == CU_STREAM_PER_THREAD) {
    host = 0;
    return true;
  }
  auto* s = reinterpret_cast<Stream*>(stream);
  if (!streams.count(s)) return false;
  host = s->host;
  return true;
}

bool Driver::is_device(std::uint64_t address) const {
  for (const auto* blocks : {&allocations, &globals}) {
    auto it = blocks->upper_bound(address);
    if (it == blocks->begin()) continue;
    --it;
    if (address - it->first < it->second) return true;
  }
  return false;
}

bool Driver::is_page_locked(const void* p, std::size_t bytes) const {
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  for (const auto* ranges : {&host_buffers, &registered}) {
    auto it = ranges->upper_bound(address);
    if (it == ranges->begin()) continue;
    --it;
    const std::uintptr_t offset = address - it->first;
    if (offset < it->second && bytes <= it->second - offset) return true;
  }
  return false;
}

Function* Driver::function(const void* handle) const {
  auto* f = static_cast<Function*>(const_cast<void*>(handle));
  return functions.count(f) ? f : nullptr;
}

Module* Driver::module(const void* handle) const {
  auto* m = static_cast<Module*>(const_cast<void*>(handle));
  return modules.count(m) ? m : nullptr;
}

Event* Driver::event(const void* handle) const {
  auto* e = static_cast<Event*>(const_cast<void*>(handle));
  return events.count(e) ? e : nullptr;
}

CUcontext& current_context() {
  thread_local CUcontext current = nullptr;
  return current;
}

int function_attribute(const Function& f, int attribute) {
  return attribute >= 0 && std::size_t(attribute) < f.attributes.size() ? f.attributes[attribute]
                                                                        : 0;
}

}  // namespace vgpu::guest::cuda
