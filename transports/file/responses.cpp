#include "responses.hpp"

#include <cstdio>
#include <cstring>

namespace vgpu::transports::file {

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// The original client printed what came back; the first output as float32 values is what its
// commands produce, so show how many there are, their sum and the first few.
std::string float_summary(const sdk::Buffer& bytes) {
  const std::size_t count = bytes.size() / sizeof(float);
  double sum = 0;
  std::string first;
  for (std::size_t i = 0; i < count; ++i) {
    float v;
    std::memcpy(&v, bytes.data() + i * sizeof(float), sizeof v);
    sum += v;
    if (i < 8) first += (i ? " " : "") + number(v);
  }
  return "values: " + std::to_string(count) + "\nsum: " + number(sum) + "\nfirst: " + first + "\n";
}

}  // namespace

std::string compat_response_text(const std::string& key, const std::string& op,
                                 const sdk::JobResult& result, const ResolvedVm& vm) {
  std::string out = result.status == sdk::Status::ok
                        ? "OK " + op + "\n"
                        : "ERROR " + std::string(sdk::to_string(result.status)) + ": " +
                              spool::detail::one_line(result.message) + "\n";
  out += "request: " + key + "\n";
  out += "vm_id: " + std::to_string(vm.vm_id) + "\n";
  if (!vm.pool.empty()) out += "pool: " + vm.pool + "\n";
  if (vm.priority) out += "priority: " + std::string(sdk::priority_name(*vm.priority)) + "\n";
  if (result.status == sdk::Status::ok) {
    out += "queued_us: " + std::to_string(result.queued.count() / 1000) + "\n";
    out += "wall_us: " + std::to_string(result.usage.wall.count() / 1000) + "\n";
    out += "device_us: " + std::to_string(result.usage.device.count() / 1000) + "\n";
    if (!result.outputs.empty()) out += float_summary(result.outputs[0]);
  }
  return out;
}

std::string output_file_name(const std::string& name, std::size_t index) {
  return name + ".out" + std::to_string(index);
}

spool::Response spool_response(const std::string& name, const sdk::JobResult& result,
                               const ResolvedVm& vm) {
  spool::Response r;
  r.status = result.status;
  r.message = result.message;
  r.queued_ns = static_cast<std::uint64_t>(result.queued.count());
  r.wall_ns = static_cast<std::uint64_t>(result.usage.wall.count());
  r.device_ns = static_cast<std::uint64_t>(result.usage.device.count());
  r.dispatch_sequence = result.dispatch_sequence;
  r.vm_id = vm.vm_id;
  r.pool = vm.pool;
  r.priority = vm.priority;
  r.vm_name = vm.name;
  for (std::size_t i = 0; i < result.outputs.size(); ++i)
    r.outputs.emplace_back(output_file_name(name, i), result.outputs[i].size());
  return r;
}

}  // namespace vgpu::transports::file
