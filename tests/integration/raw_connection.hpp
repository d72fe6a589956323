// A client that speaks the framed protocol byte by byte, as an outside (or hostile) implementer
// would: it sends whatever it is given and reads frames back with a time limit. For tests of
// what the mediator does with frames the guest library would never send.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "vgpu/protocol/wire.hpp"

namespace vgpu::testing {

struct RawFrame {
  wire::FrameHeader header;
  std::vector<std::uint8_t> meta;
  std::vector<std::uint8_t> data;
};

class RawConnection {
 public:
  explicit RawConnection(std::uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot connect to 127.0.0.1:" + std::to_string(port));
  }
  RawConnection(RawConnection&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  RawConnection(const RawConnection&) = delete;
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }

  void send(const std::vector<std::uint8_t>& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send failed");
      sent += static_cast<std::size_t>(n);
    }
  }

  // HELLO as `vm_id` with `token`; returns the answer (HELLO_OK or ERROR).
  std::optional<RawFrame> hello(std::uint32_t vm_id, const std::string& token,
                                std::uint16_t flags = 0) {
    send(wire::frame_prefix(wire::FrameType::hello, 1, wire::Hello{vm_id, token, "raw"}, 0, flags));
    return read_frame();
  }

  // The next frame, or nothing when the connection closed or `limit` passed.
  std::optional<RawFrame> read_frame(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    wire::HeaderBytes header{};
    if (!read_exactly(header.data(), header.size(), limit)) return std::nullopt;
    RawFrame f;
    f.header = wire::decode_header(header, UINT32_MAX);
    f.meta.resize(f.header.meta_len);
    f.data.resize(f.header.data_len);
    if (!read_exactly(f.meta.data(), f.meta.size(), limit)) return std::nullopt;
    if (!read_exactly(f.data.data(), f.data.size(), limit)) return std::nullopt;
    return f;
  }

  // Whether the mediator closed the connection (EOF within `limit`), reading past any frames.
  bool closed_by_peer(std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::uint8_t byte;
    const auto end = std::chrono::steady_clock::now() + limit;
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      const ssize_t n = ::recv(fd_, &byte, 1, 0);
      if (n <= 0) return true;
    }
  }

  // The ERROR frame's message, or a description of what came instead.
  static std::string error_text(const std::optional<RawFrame>& f) {
    if (!f) return "<no frame: closed or timed out>";
    if (f->header.type != wire::FrameType::error)
      return "<frame type " + std::to_string(int(f->header.type)) + ">";
    return wire::decode_error(f->meta).message;
  }

  int fd() const { return fd_; }

 private:
  bool read_exactly(std::uint8_t* out, std::size_t n, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    std::size_t got = 0;
    while (got < n) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      const ssize_t r = ::recv(fd_, out + got, n - got, 0);
      if (r <= 0) return false;
      got += static_cast<std::size_t>(r);
    }
    return true;
  }
  int fd_ = -1;
};

// The resident memory of a process in bytes (VmRSS), 0 when it cannot be read.
std::size_t resident_bytes(pid_t pid);
// CPU time (user + system) a process has used, in clock ticks.
long cpu_ticks(pid_t pid);
// Open file descriptors of a process.
std::size_t open_fds(pid_t pid);

}  // namespace vgpu::testing
