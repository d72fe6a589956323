#include "client_output.hpp"

#include <cstdio>
#include <cstring>
#include <sstream>

namespace vgpu::guest {
namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

std::string describe_identity(const DeviceIdentity& id, bool json) {
  std::ostringstream out;
  if (json) {
    out << "{\"vm_id\": " << id.vm_id << ", \"pool\": " << quoted(id.pool)
        << ", \"priority\": " << quoted(protocol::priority_name(static_cast<int>(id.priority)))
        << ", \"has_token\": " << (id.token.empty() ? "false" : "true")
        << ", \"pci_address\": " << quoted(id.pci_address) << "}";
  } else {
    out << "vm_id:    " << id.vm_id << "\npool:     " << id.pool
        << "\npriority: " << protocol::priority_name(static_cast<int>(id.priority))
        << "\ntoken:    " << (id.token.empty() ? "none" : "present")
        << "\ndevice:   " << id.pci_address;
  }
  return out.str();
}

std::string describe_result(const std::string& op, const RunResult& r, const wire::HelloOk& who,
                            bool json) {
  std::vector<float> values;
  if (!r.outputs.empty()) {
    values.resize(r.outputs[0].size() / sizeof(float));
    if (!values.empty()) std::memcpy(values.data(), r.outputs[0].data(), values.size() * 4);
  }
  double sum = 0;
  for (float v : values) sum += v;
  std::ostringstream out;
  if (json) {
    out << "{\"op\": " << quoted(op) << ", \"status\": " << quoted(protocol::to_string(r.status))
        << ", \"message\": " << quoted(r.message) << ", \"values\": " << values.size()
        << ", \"sum\": " << sum << ", \"queued_ms\": " << r.queued_ns / 1e6
        << ", \"run_ms\": " << r.wall_ns / 1e6 << ", \"dispatch_sequence\": " << r.dispatch_sequence
        << ", \"vm_id\": " << who.vm_id << ", \"pool\": " << quoted(who.pool)
        << ", \"priority\": " << quoted(protocol::priority_name(static_cast<int>(who.priority)))
        << "}";
    return out.str();
  }
  if (r.status != protocol::Status::ok) {
    out << op << " failed: " << protocol::to_string(r.status) << ": " << r.message;
    return out.str();
  }
  char timing[128];
  std::snprintf(timing, sizeof timing, "queued %.3f ms, ran %.3f ms", r.queued_ns / 1e6,
                r.wall_ns / 1e6);
  out << op << " ok: ";
  if (values.size() == 1) {
    out << "result " << values[0];
  } else if (!values.empty()) {
    out << values.size() << " values, sum " << sum << ", first [";
    for (std::size_t i = 0; i < std::min<std::size_t>(4, values.size()); ++i)
      out << (i ? ", " : "") << values[i];
    out << (values.size() > 4 ? ", ...]" : "]");
  } else {
    out << "done";
  }
  out << " (" << timing << "; vm " << who.vm_id << ", pool " << who.pool << ", priority "
      << protocol::priority_name(static_cast<int>(who.priority)) << ")";
  return out.str();
}

}  // namespace vgpu::guest
