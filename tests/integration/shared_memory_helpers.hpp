// What the shared-memory and ring tests share: a scratch region directory and a client that
// asks for the VM's region (and its rings).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "client.hpp"
#include "mediator_process.hpp"

namespace vgpu::testing {

// A scratch directory for shared-memory regions, removed at the end of the test.
struct ShmDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("vgpu-shm-" + std::to_string(::getpid()) + "-" +
       std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  ~ShmDir() { std::filesystem::remove_all(path); }
  std::string tcp_settings(unsigned mb) const {
    return "    shared_memory_dir: " + path.string() +
           "\n    shared_memory_mb: " + std::to_string(mb) + "\n";
  }
};

inline guest::Client connect_shared(const MediatorProcess& m, const std::string& name,
                                    bool rings = false) {
  const auto& vm = m.vm(name);
  guest::ConnectOptions options;
  options.shared_memory = true;
  options.rings = rings;
  return guest::Client::connect("127.0.0.1", m.port(), vm.vm_id, vm.token, options);
}

// A job's output `index` in shared memory, as floats.
inline std::vector<float> shared_floats(const guest::RunResult& r, std::size_t index = 0) {
  EXPECT_EQ(r.status, protocol::Status::ok) << r.message;
  if (r.shared_outputs.size() <= index) return {};
  const auto& out = r.shared_outputs[index];
  std::vector<float> v(out.size() / sizeof(float));
  std::memcpy(v.data(), out.data(), v.size() * sizeof(float));
  return v;
}

}  // namespace vgpu::testing
