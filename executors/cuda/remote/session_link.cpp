#include "session_link.hpp"

#include "fd_passing.hpp"

#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

namespace vgpu::executors::cuda::remote {

namespace {
std::runtime_error system_error(const char* what) {
  return std::runtime_error(std::string("session link: ") + what + ": " + std::strerror(errno));
}

bool write_all(int fd, const std::uint8_t* p, std::size_t n) {
  while (n) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= std::size_t(w);
  }
  return true;
}

bool read_all(int fd, std::uint8_t* p, std::size_t n) {
  while (n) {
    const ssize_t r = ::read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= std::size_t(r);
  }
  return true;
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// What offer() sends beside the two descriptors, so that accept() knows what it was handed.
struct Offer {
  std::uint64_t magic;
  std::uint64_t capacity;
};

std::size_t mapping_bytes(std::size_t capacity) {
  return kMailboxBodiesAt + 2 * capacity;
}

// Drains the bell (non-blocking); false when its other end is gone.
bool drain(int bell) {
  std::uint8_t rings[64];
  while (true) {
    const ssize_t r = ::recv(bell, rings, sizeof rings, MSG_DONTWAIT);
    if (r > 0) continue;
    if (r < 0 && errno == EINTR) continue;
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }
}
}  // namespace

SessionLink::SessionLink(int channel, int bell, void* map, std::size_t map_bytes, int out_lane)
    : channel_(channel),
      bell_(bell),
      map_(map),
      map_bytes_(map_bytes),
      capacity_((map_bytes - kMailboxBodiesAt) / 2),
      out_(out_lane),
      in_(1 - out_lane) {}

SessionLink::~SessionLink() {
  close();
  if (map_) ::munmap(map_, map_bytes_);
}

void SessionLink::close() {
  if (channel_ >= 0) ::close(channel_);
  if (bell_ >= 0) ::close(bell_);
  channel_ = bell_ = -1;
}

std::unique_ptr<SessionLink> SessionLink::offer(int channel, std::size_t capacity) {
  struct Closer {  // what is not handed on is closed, whatever fails
    int fds[3];
    ~Closer() {
      for (int fd : fds)
        if (fd >= 0) ::close(fd);
    }
  } owned{{channel, -1, -1}};
  const int memory = ::memfd_create("vgpu-session-mailbox", MFD_CLOEXEC);
  if (memory < 0) throw system_error("memfd_create");
  owned.fds[1] = memory;
  const std::size_t bytes = mapping_bytes(capacity);
  if (::ftruncate(memory, off_t(bytes)) != 0) throw system_error("ftruncate");
  void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memory, 0);
  if (map == MAP_FAILED) throw system_error("mmap");
  auto* h = new (map) MailboxHeader{};
  h->magic = kMailboxMagic;
  h->capacity = capacity;

  int bell[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, bell) != 0) {
    ::munmap(map, bytes);
    throw system_error("socketpair");
  }
  owned.fds[2] = bell[1];
  // The mapping, the other end's bell, and what they are, in one message.
  const Offer what{kMailboxMagic, capacity};
  const int handed[2] = {memory, bell[1]};
  if (!send_with_fds(channel, &what, sizeof what, handed)) {
    ::close(bell[0]);
    ::munmap(map, bytes);
    throw system_error("sending the mailbox");
  }
  owned.fds[0] = -1;  // the link owns the channel now
  return std::unique_ptr<SessionLink>(new SessionLink(channel, bell[0], map, bytes, 0));
}

std::unique_ptr<SessionLink> SessionLink::accept(int channel) {
  Offer what{};
  int fds[2];
  const ssize_t n = receive_with_fds(channel, &what, sizeof what, fds);
  auto refuse = [&]() -> std::unique_ptr<SessionLink> {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
    ::close(channel);
    return nullptr;
  };
  if (n != ssize_t(sizeof what) || fds[0] < 0 || fds[1] < 0 || what.magic != kMailboxMagic ||
      what.capacity == 0 || what.capacity > kMaxLinkMessageBytes)
    return refuse();
  const std::size_t bytes = mapping_bytes(what.capacity);
  struct stat st {};
  if (::fstat(fds[0], &st) != 0 || !S_ISREG(st.st_mode) || std::uint64_t(st.st_size) != bytes)
    return refuse();
  void* map = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
  ::close(std::exchange(fds[0], -1));  // the mapping stays
  if (map == MAP_FAILED) return refuse();
  const auto* h = static_cast<const MailboxHeader*>(map);
  if (h->magic != kMailboxMagic || h->capacity != what.capacity) {
    ::munmap(map, bytes);
    return refuse();
  }
  return std::unique_ptr<SessionLink>(new SessionLink(channel, fds[1], map, bytes, 1));
}

std::uint8_t* SessionLink::body_area(int lane) const {
  return static_cast<std::uint8_t*>(map_) + kMailboxBodiesAt + std::size_t(lane) * capacity_;
}

bool SessionLink::send(std::uint8_t tag, std::uint64_t number, std::span<const std::uint8_t> body) {
  if (channel_ < 0 || body.size() > kMaxLinkMessageBytes) return false;
  MailboxLane& lane = header().lanes[out_];
  const bool fits = body.size() <= capacity_;
  lane.tag.store(tag, std::memory_order_relaxed);
  lane.on_socket.store(fits ? 0 : 1, std::memory_order_relaxed);
  lane.number.store(number, std::memory_order_relaxed);
  lane.length.store(body.size(), std::memory_order_relaxed);
  if (fits && !body.empty()) std::memcpy(body_area(out_), body.data(), body.size());
  // Published, then the sleeping flag read: the receiver sets its flag, then reads `published`
  // (both sequentially consistent), so one of the two sees the other and no wake-up is lost.
  lane.published.store(++sent_, std::memory_order_seq_cst);
  if (!fits) return write_all(channel_, body.data(), body.size());
  if (lane.sleeping.load(std::memory_order_seq_cst)) {
    const std::uint8_t ring = 1;
    const ssize_t w = ::send(bell_, &ring, 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    // A full bell has rung already; a bell with nobody at the other end means the end is gone.
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return false;
  }
  return true;
}

bool SessionLink::channel_has_news() const {
  std::uint8_t byte;
  const ssize_t n = ::recv(channel_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool SessionLink::arrived() const {
  return header().lanes[in_].published.load(std::memory_order_seq_cst) != received_;
}

SessionLink::Wait SessionLink::receive(LinkMessage& out, std::chrono::microseconds spin,
                                       std::chrono::milliseconds limit) {
  if (channel_ < 0) return Wait::gone;
  const auto start = std::chrono::steady_clock::now();
  if (!arrived() && spin.count() > 0) {
    // The watch is part of the wait: a limit shorter than it ends it too.
    const auto until = limit.count() > 0 ? std::min<std::chrono::steady_clock::time_point>(
                                               start + spin, start + limit)
                                         : start + spin;
    for (unsigned i = 1; !arrived(); ++i) {
      if (i % 64 == 0 && std::chrono::steady_clock::now() >= until) break;
      // Now and then (tens of microseconds) a look at the socket: an end that has gone stops
      // the watch at once rather than after all of `spin`.
      if (i % 1024 == 0 && channel_has_news()) break;
      cpu_relax();
    }
  }
  if (!arrived()) {
    const Wait w = sleep_until_arrived(start + limit, limit.count() > 0);
    if (w != Wait::message) return w;
  }
  return take(out);
}

SessionLink::Wait SessionLink::sleep_until_arrived(std::chrono::steady_clock::time_point deadline,
                                                   bool limited) {
  std::atomic<std::uint32_t>& sleeping = header().lanes[in_].sleeping;
  while (true) {
    sleeping.store(1, std::memory_order_seq_cst);
    if (arrived()) break;
    int timeout = -1;
    if (limited) {
      const auto left =
          std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        sleeping.store(0, std::memory_order_relaxed);
        return Wait::timed_out;
      }
      timeout = int(std::min<std::int64_t>(left.count(), INT32_MAX));
    }
    pollfd watch[2] = {{bell_, POLLIN, 0}, {channel_, POLLIN, 0}};
    const int ready = ::poll(watch, 2, timeout);
    sleeping.store(0, std::memory_order_relaxed);
    if (ready < 0 && errno != EINTR) return Wait::gone;
    if (arrived()) break;
    if (ready <= 0) continue;  // interrupted, or the limit (checked at the top)
    // The bell rang for an earlier message, or the other end is gone: the socket carries a
    // body only after its message is published, so a readable socket with nothing published
    // is its end.
    if ((watch[0].revents & POLLIN) && !drain(bell_)) return arrived() ? Wait::message : Wait::gone;
    if (watch[0].revents & (POLLHUP | POLLERR)) return arrived() ? Wait::message : Wait::gone;
    if (watch[1].revents) return arrived() ? Wait::message : Wait::gone;
  }
  sleeping.store(0, std::memory_order_relaxed);
  return Wait::message;
}

SessionLink::Wait SessionLink::take(LinkMessage& out) {
  const MailboxLane& lane = header().lanes[in_];
  ++received_;
  const std::uint8_t tag = lane.tag.load(std::memory_order_relaxed);
  const bool on_socket = lane.on_socket.load(std::memory_order_relaxed) != 0;
  const std::uint64_t number = lane.number.load(std::memory_order_relaxed);
  const std::uint64_t length = lane.length.load(std::memory_order_relaxed);
  if (length > (on_socket ? kMaxLinkMessageBytes : capacity_)) return Wait::gone;
  out.tag = tag;
  out.number = number;
  try {
    out.body.resize(length);
  } catch (const std::bad_alloc&) {
    return Wait::gone;
  }
  if (on_socket) return read_all(channel_, out.body.data(), length) ? Wait::message : Wait::gone;
  if (length) std::memcpy(out.body.data(), body_area(in_), length);
  return Wait::message;
}

}  // namespace vgpu::executors::cuda::remote
