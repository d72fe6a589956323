// A Unix socket for local tools (vgpu-admin status, tests): each connection receives one JSON
// document with the live statistics, then the socket closes. Host-only: guests never see it.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace vgpu::core {

class StatusSocket {
 public:
  StatusSocket(std::filesystem::path socket, std::function<std::string()> report);
  ~StatusSocket();
  void start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vgpu::core
