// Channel: the byte stream under the worker protocol's messages (worker_protocol.hpp).
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "worker_protocol.hpp"

namespace vgpu::core::isolation {
namespace {

// Limits a corrupt length cannot exceed: the mediator's own frame limit is at most 4 GiB.
constexpr std::uint64_t kMaxMessage = std::uint64_t(1) << 33;
constexpr std::size_t kHeader = 9;  // the payload's length (8 bytes), then the type
// What one read may take: every job and result without large inputs or outputs fits, and
// several of them at once when they came together.
constexpr std::size_t kBufferBytes = 64 * 1024;

void pause_briefly() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

[[noreturn]] void closed_mid_message() {
  throw ProtocolError("the other side closed the channel in the middle of a message");
}

[[noreturn]] void read_failed() {
  throw ProtocolError(std::string("reading the worker channel: ") + std::strerror(errno));
}

}  // namespace

Channel::~Channel() {
  if (fd_ >= 0) ::close(fd_);
}

bool Channel::send_on_socket(MessageType type, const std::string& payload) {
  char header[kHeader];
  const std::uint64_t length = payload.size();
  std::memcpy(header, &length, 8);
  header[8] = static_cast<char>(type);
  iovec parts[2] = {{header, kHeader}, {const_cast<char*>(payload.data()), payload.size()}};
  msghdr message{};
  message.msg_iov = parts;
  message.msg_iovlen = payload.empty() ? 1 : 2;
  // One sendmsg takes the whole message unless it is larger than the socket's buffer; the
  // loop moves past what went out and sends the rest.
  while (message.msg_iovlen > 0) {
    auto sent = ::sendmsg(fd_, &message, MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) return false;
    sends_.fetch_add(1, std::memory_order_relaxed);
    while (message.msg_iovlen > 0 && std::size_t(sent) >= message.msg_iov->iov_len) {
      sent -= static_cast<ssize_t>(message.msg_iov->iov_len);
      ++message.msg_iov;
      --message.msg_iovlen;
    }
    if (message.msg_iovlen > 0) {
      message.msg_iov->iov_base = static_cast<char*>(message.msg_iov->iov_base) + sent;
      message.msg_iov->iov_len -= std::size_t(sent);
    }
  }
  return true;
}

bool Channel::fill(bool mid_message, bool poll) {
  if (in_.empty()) in_.resize(kBufferBytes);
  // Keep the unread bytes at the front, so the rest of the buffer is free for this read.
  if (in_at_ > 0) {
    std::memmove(in_.data(), in_.data() + in_at_, in_end_ - in_at_);
    in_end_ -= in_at_;
    in_at_ = 0;
  }
  const bool polls = poll && poll_.count() > 0;
  const auto until = std::chrono::steady_clock::now() + poll_;
  for (;;) {
    const bool polling = polls && std::chrono::steady_clock::now() < until;
    const auto got =
        ::recv(fd_, in_.data() + in_end_, in_.size() - in_end_, polling ? MSG_DONTWAIT : 0);
    if (got > 0) {
      ++reads_;
      in_end_ += std::size_t(got);
      return true;
    }
    if (got == 0 || errno == ECONNRESET) {
      if (mid_message) closed_mid_message();
      return false;
    }
    if (errno == EINTR) continue;
    if (polling && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pause_briefly();
      continue;
    }
    read_failed();
  }
}

void Channel::read_exactly(char* to, std::size_t n) {
  while (n > 0) {
    const auto got = ::recv(fd_, to, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got == 0 || (got < 0 && errno == ECONNRESET)) closed_mid_message();
    if (got < 0) read_failed();
    ++reads_;
    to += got;
    n -= std::size_t(got);
  }
}

std::optional<Message> Channel::receive_from_socket(bool poll) {
  while (in_end_ - in_at_ < kHeader)
    if (!fill(in_end_ > in_at_, poll)) return std::nullopt;
  std::uint64_t length = 0;
  std::memcpy(&length, in_.data() + in_at_, 8);
  if (length > kMaxMessage)
    throw ProtocolError("worker message of " + std::to_string(length) + " bytes");
  Message m;
  m.type = static_cast<MessageType>(in_[in_at_ + 8]);
  in_at_ += kHeader;
  // A payload that fits the buffer is read into it (the common case: it is often there
  // already); a larger one goes from the buffer's share straight into the message.
  if (length <= kBufferBytes - kHeader)
    while (in_end_ - in_at_ < length) fill(true, poll);
  const std::size_t buffered = std::min<std::size_t>(in_end_ - in_at_, length);
  m.payload.resize(length);
  std::memcpy(m.payload.data(), in_.data() + in_at_, buffered);
  in_at_ += buffered;
  if (buffered < length) read_exactly(m.payload.data() + buffered, length - buffered);
  if (in_at_ == in_end_) in_at_ = in_end_ = 0;
  return m;
}

void Channel::use_rings(std::shared_ptr<WorkerRings> rings, bool mediator_end) {
  std::lock_guard guard(send_mutex_);
  out_ring_ = std::make_unique<RingOut>(mediator_end ? rings->to_worker() : rings->to_mediator());
  in_ring_ = std::make_unique<RingIn>(mediator_end ? rings->to_mediator() : rings->to_worker());
  rings_ = std::move(rings);
}

bool Channel::send(MessageType type, const std::string& payload) {
  std::lock_guard guard(send_mutex_);
  if (!out_ring_) return send_on_socket(type, payload);
  // A message too large for the ring is announced there, then sent on the socket: the reader
  // takes it from the socket when it reaches the announcement, so order is kept.
  const bool fits = payload.size() <= kMaxRingPayload;
  const std::string none;
  const auto ring_type = static_cast<std::uint8_t>(fits ? type : MessageType::on_socket);
  // A full ring empties as fast as its reader polls; one that stays full for seconds has a
  // reader that is gone or stuck, and the message is lost as on a dead socket.
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!out_ring_->try_push(ring_type, fits ? payload : none)) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::yield();
  }
  if (out_ring_->reader_sleeps() && !send_on_socket(MessageType::nudge, {})) return false;
  return fits || send_on_socket(type, payload);
}

std::optional<Message> Channel::receive() {
  return in_ring_ ? receive_from_rings() : receive_from_socket(true);
}

std::optional<Message> Channel::receive_from_rings() {
  auto until = std::chrono::steady_clock::now() + poll_;
  if (poll_.count() > 0) in_ring_->set_sleeping(false);
  for (;;) {
    Message m;
    std::uint8_t type = 0;
    bool popped = false;
    try {
      popped = in_ring_->try_pop(type, m.payload);
    } catch (const RingError& e) {
      throw ProtocolError(e.what());
    }
    if (popped) {
      m.type = static_cast<MessageType>(type);
      if (m.type != MessageType::on_socket) return m;
      for (;;) {  // the announced message, past any nudges sent before it
        auto next = receive_from_socket(false);
        if (!next) throw ProtocolError("the channel closed before a message it announced");
        if (next->type != MessageType::nudge) return next;
      }
    }
    if (poll_.count() > 0 && std::chrono::steady_clock::now() < until) {
      pause_briefly();
      continue;
    }
    in_ring_->set_sleeping(true);
    if (!in_ring_->empty()) {  // came while it fell asleep: take it
      if (poll_.count() > 0) in_ring_->set_sleeping(false);
      continue;
    }
    auto woken = receive_from_socket(false);
    if (poll_.count() > 0) in_ring_->set_sleeping(false);
    until = std::chrono::steady_clock::now() + poll_;
    if (!woken) {
      // The writer may have left messages in the ring before it went: they come first.
      if (!in_ring_->empty()) continue;
      return std::nullopt;
    }
    if (woken->type != MessageType::nudge) return woken;  // sent on the socket unannounced
  }
}

}  // namespace vgpu::core::isolation
