#include "session_channel.hpp"

#include "fd_passing.hpp"

#include <unistd.h>

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
  const SessionTerms terms{priority, quota};
  return send_with_fds(control, &terms, sizeof terms, std::span<const int>(&fd, 1));
}

std::optional<NewSession> receive_session(int control) {
  SessionTerms terms{};
  int fd = -1;
  const ssize_t n = receive_with_fds(control, &terms, sizeof terms, std::span<int>(&fd, 1));
  if (n != ssize_t(sizeof terms) || fd < 0) {
    if (fd >= 0) ::close(fd);
    return std::nullopt;
  }
  NewSession s;
  s.fd = fd;
  s.priority = terms.priority;
  s.quota = terms.quota;
  return s;
}

}  // namespace vgpu::executors::cuda::remote
