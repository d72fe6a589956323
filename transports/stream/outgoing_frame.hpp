// One frame on its way to the client: its header and metadata, then its data buffers gathered
// after them without a copy, and how much of it the socket has taken. A stream session queues
// these; this file holds what can be said about one frame without the session: what is left to
// write, and a write that never blocks.
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>

#include <boost/asio/buffer.hpp>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <vector>

#include "vgpu/sdk/job.hpp"

namespace vgpu::transports {

struct OutgoingFrame {
  std::vector<std::uint8_t> prefix;  // header + metadata
  std::vector<sdk::Buffer> buffers;  // gathered after it, never copied
  std::size_t sent = 0;              // bytes already written from the front
  std::size_t counted = 0;           // bytes counted as unsent while it waits in the outbox

  std::size_t total_bytes() const {
    std::size_t total = prefix.size();
    for (const auto& b : buffers) total += b.size();
    return total;
  }

  // What is left to write, skipping the bytes already sent.
  std::vector<boost::asio::const_buffer> unsent() const {
    std::vector<boost::asio::const_buffer> left;
    std::size_t skip = sent;
    auto add = [&](boost::asio::const_buffer b) {
      const std::size_t cut = std::min(skip, b.size());
      skip -= cut;
      if (b.size() > cut) left.push_back(b + cut);
    };
    add(boost::asio::buffer(prefix));
    for (const auto& b : buffers) add(boost::asio::buffer(b));
    return left;
  }

  // Writes what socket `fd` takes without blocking; true when all of it went. The caller makes
  // sure nobody else writes to `fd` meanwhile, so frames cannot interleave.
  bool write_without_blocking(int fd) {
    for (;;) {
      const auto left = unsent();
      if (left.empty()) return true;
      std::vector<iovec> iov;
      for (const auto& b : left) iov.push_back({const_cast<void*>(b.data()), b.size()});
      msghdr msg{};
      msg.msg_iov = iov.data();
      msg.msg_iovlen = std::min<std::size_t>(iov.size(), IOV_MAX);
      const ssize_t n = ::sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      // Full, or broken: an asynchronous write goes on from here, or reports the error.
      return false;
    }
  }
};

}  // namespace vgpu::transports
