#include "session_channel.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace vgpu::executors::cuda::remote {

bool write_request(SessionLink& link, SessionRequest kind, std::uint64_t budget,
                   std::span<const std::uint8_t> body) {
  return link.send(static_cast<std::uint8_t>(kind), budget, body);
}

std::optional<Request> read_request(SessionLink& link, std::chrono::microseconds spin) {
  LinkMessage m;
  if (link.receive(m, spin) != SessionLink::Wait::message) return std::nullopt;
  if (m.tag < 1 || m.tag > 4) return std::nullopt;
  Request r;
  r.kind = static_cast<SessionRequest>(m.tag);
  r.budget = m.number;
  r.body = std::move(m.body);
  return r;
}

bool write_reply(SessionLink& link, const Reply& r) {
  return link.send(static_cast<std::uint8_t>(r.outcome), r.bytes_held, r.body);
}

SessionLink::Wait read_reply(SessionLink& link, Reply& r, std::chrono::microseconds spin,
                             std::chrono::milliseconds limit) {
  LinkMessage m;
  const auto waited = link.receive(m, spin, limit);
  if (waited != SessionLink::Wait::message) return waited;
  if (m.tag > 2) return SessionLink::Wait::gone;
  r.outcome = static_cast<Outcome>(m.tag);
  r.bytes_held = m.number;
  r.body = std::move(m.body);
  return waited;
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
