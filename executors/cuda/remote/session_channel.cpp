#include "session_channel.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace vgpu::executors::cuda::remote {

namespace {
bool write_all(int fd, const void* data, std::size_t n) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  while (n) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= std::size_t(w);
  }
  return true;
}

bool read_all(int fd, void* data, std::size_t n) {
  auto* p = static_cast<std::uint8_t*>(data);
  while (n) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= std::size_t(r);
  }
  return true;
}

// Header: u8 kind-or-ok, u64 number (budget or bytes held), u64 body length; host byte order
// (both ends are on one machine, the same build).
struct Header {
  std::uint8_t tag;
  std::uint64_t number;
  std::uint64_t length;
};

// Header and body in one system call when the socket takes them whole (a short message, which
// is what a launch and its wait are): each call is a microsecond on the path of a round trip.
bool write_message(int fd, std::uint8_t tag, std::uint64_t number,
                   std::span<const std::uint8_t> body) {
  const Header h{tag, number, body.size()};
  iovec parts[2] = {{const_cast<Header*>(&h), sizeof h},
                    {const_cast<std::uint8_t*>(body.data()), body.size()}};
  msghdr m{};
  m.msg_iov = parts;
  m.msg_iovlen = body.empty() ? 1 : 2;
  ssize_t w;
  do w = ::sendmsg(fd, &m, MSG_NOSIGNAL);
  while (w < 0 && errno == EINTR);
  if (w < 0) return false;
  const std::size_t sent = std::size_t(w);
  if (sent < sizeof h)
    return write_all(fd, reinterpret_cast<const std::uint8_t*>(&h) + sent, sizeof h - sent) &&
           write_all(fd, body.data(), body.size());
  return write_all(fd, body.data() + (sent - sizeof h), body.size() - (sent - sizeof h));
}

// The header and as much of a short body as has arrived in one read; the rest after.
bool read_message(int fd, Header& h, std::vector<std::uint8_t>& body) {
  std::uint8_t first[sizeof(Header) + 4096];
  std::size_t got = 0;
  while (got < sizeof h) {
    const ssize_t r = ::read(fd, first + got, sizeof first - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    got += std::size_t(r);
  }
  std::memcpy(&h, first, sizeof h);
  if (h.length > kMaxMessageBytes) return false;
  const std::size_t early = got - sizeof h;
  if (early > h.length) return false;  // more than one message: both ends send one at a time
  body.resize(h.length);
  std::memcpy(body.data(), first + sizeof h, early);
  return read_all(fd, body.data() + early, body.size() - early);
}
}  // namespace

void spin_until_readable(int fd, std::chrono::microseconds spin) {
  if (spin.count() <= 0) return;
  const auto until = std::chrono::steady_clock::now() + spin;
  std::uint8_t byte;
  while (std::chrono::steady_clock::now() < until) {
    const ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n != 0 && !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) return;  // data or end
  }
}

bool write_request(int fd, SessionRequest kind, std::uint64_t budget,
                   std::span<const std::uint8_t> body) {
  return write_message(fd, static_cast<std::uint8_t>(kind), budget, body);
}

std::optional<Request> read_request(int fd) {
  Header h{};
  Request r;
  if (!read_message(fd, h, r.body)) return std::nullopt;
  if (h.tag < 1 || h.tag > 4) return std::nullopt;
  r.kind = static_cast<SessionRequest>(h.tag);
  r.budget = h.number;
  return r;
}

bool write_reply(int fd, const Reply& r) {
  return write_message(fd, static_cast<std::uint8_t>(r.outcome), r.bytes_held, r.body);
}

std::optional<Reply> read_reply(int fd) {
  Header h{};
  Reply r;
  if (!read_message(fd, h, r.body)) return std::nullopt;
  if (h.tag > 2) return std::nullopt;
  r.outcome = static_cast<Outcome>(h.tag);
  r.bytes_held = h.number;
  return r;
}

namespace {
struct SessionTerms {
  std::int32_t priority;
  std::uint64_t quota;
};
}  // namespace

bool send_session(int control, int fd, std::int32_t priority, std::uint64_t quota) {
  SessionTerms terms{priority, quota};
  iovec io{&terms, sizeof terms};
  alignas(cmsghdr) char space[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  msg.msg_control = space;
  msg.msg_controllen = sizeof space;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  do n = ::sendmsg(control, &msg, MSG_NOSIGNAL);
  while (n < 0 && errno == EINTR);
  return n == ssize_t(sizeof terms);
}

std::optional<NewSession> receive_session(int control) {
  SessionTerms terms{};
  iovec io{&terms, sizeof terms};
  alignas(cmsghdr) char space[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &io;
  msg.msg_iovlen = 1;
  msg.msg_control = space;
  msg.msg_controllen = sizeof space;
  ssize_t n;
  do n = ::recvmsg(control, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n != ssize_t(sizeof terms)) return std::nullopt;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) return std::nullopt;
  NewSession s;
  std::memcpy(&s.fd, CMSG_DATA(c), sizeof s.fd);
  s.priority = terms.priority;
  s.quota = terms.quota;
  return s;
}

}  // namespace vgpu::executors::cuda::remote
