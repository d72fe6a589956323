// The C API over Client and the device reader: exceptions stop here and become error text.
#include <cstdio>
#include <cstring>
#include <variant>

#include "client.hpp"
#include "device.hpp"
#include "spool_client.hpp"
#include "vgpu/guest.h"

struct vgpu_client {
  std::variant<vgpu::guest::Client, vgpu::guest::SpoolClient> client;
};

namespace {

void set_error(char* err, size_t len, const char* what) {
  if (err && len) std::snprintf(err, len, "%s", what);
}

template <size_t N>
void copy_string(char (&dst)[N], const std::string& src) {
  std::snprintf(dst, N, "%s", src.c_str());
}

}  // namespace

extern "C" int vgpu_read_identity(const char* sysfs_root, vgpu_identity* out, char* err,
                                  size_t err_len) {
  try {
    auto id = vgpu::guest::read_device_identity(sysfs_root ? sysfs_root : "/sys");
    std::memset(out, 0, sizeof *out);
    out->vm_id = id.vm_id;
    out->priority = id.priority;
    copy_string(out->pool, id.pool);
    copy_string(out->token, id.token);
    copy_string(out->pci_address, id.pci_address);
    return 0;
  } catch (const std::exception& e) {
    set_error(err, err_len, e.what());
    return -1;
  }
}

extern "C" vgpu_client* vgpu_connect(const char* host, uint16_t port, uint32_t vm_id,
                                     const char* token, char* err, size_t err_len) {
  try {
    return new vgpu_client{
        vgpu::guest::Client::connect(host, port, vm_id, token ? token : "", "libvgpu-guest")};
  } catch (const std::exception& e) {
    set_error(err, err_len, e.what());
    return nullptr;
  }
}

extern "C" vgpu_client* vgpu_open_dir(const char* dir, char* err, size_t err_len) {
  try {
    return new vgpu_client{vgpu::guest::SpoolClient::open(dir ? dir : "")};
  } catch (const std::exception& e) {
    set_error(err, err_len, e.what());
    return nullptr;
  }
}

extern "C" int vgpu_run(vgpu_client* c, const char* op, const char* const* params, size_t n_params,
                        void* out, size_t out_capacity, size_t* out_size, char* err,
                        size_t err_len) {
  try {
    std::vector<vgpu::protocol::Param> list;
    for (size_t i = 0; i < n_params; ++i) {
      const std::string kv = params[i];
      const auto eq = kv.find('=');
      if (eq == std::string::npos) {
        set_error(err, err_len, ("parameter '" + kv + "' is not key=value").c_str());
        return -1;
      }
      list.push_back({kv.substr(0, eq), kv.substr(eq + 1)});
    }
    auto r = std::visit([&](auto& client) { return client.run(op, list); }, c->client);
    if (out_size) *out_size = r.outputs.empty() ? 0 : r.outputs[0].size();
    if (!r.outputs.empty() && out)
      std::memcpy(out, r.outputs[0].data(), std::min(out_capacity, r.outputs[0].size()));
    if (r.status != vgpu::protocol::Status::ok) set_error(err, err_len, r.message.c_str());
    return static_cast<int>(r.status);
  } catch (const std::exception& e) {
    set_error(err, err_len, e.what());
    return -1;
  }
}

extern "C" void vgpu_close(vgpu_client* c) {
  delete c;
}
