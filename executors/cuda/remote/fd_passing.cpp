#include "fd_passing.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vgpu::executors::cuda::remote {

namespace {
constexpr std::size_t kMostFds = 4;  // what any message here carries, with room to spare
}

bool send_with_fds(int socket, const void* data, std::size_t size, std::span<const int> fds) {
  if (fds.empty() || fds.size() > kMostFds) return false;
  iovec io{const_cast<void*>(data), size};
  alignas(cmsghdr) char space[CMSG_SPACE(kMostFds * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  msg.msg_control = space;
  msg.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
  std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  ssize_t n;
  do n = ::sendmsg(socket, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == ssize_t(size);
}

ssize_t receive_with_fds(int socket, void* data, std::size_t size, std::span<int> fds) {
  std::fill(fds.begin(), fds.end(), -1);
  iovec io{data, size};
  alignas(cmsghdr) char space[CMSG_SPACE(kMostFds * sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  msg.msg_control = space;
  msg.msg_controllen = sizeof space;
  ssize_t n;
  do n = ::recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  for (cmsghdr* c = n >= 0 ? CMSG_FIRSTHDR(&msg) : nullptr; c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const std::size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (std::size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
      auto slot = std::find(fds.begin(), fds.end(), -1);
      if (slot != fds.end())
        *slot = fd;
      else
        ::close(fd);  // more than asked for: not ours to keep
    }
  }
  return n;
}

}  // namespace vgpu::executors::cuda::remote
