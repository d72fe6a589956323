// The link between the cuda executor and one session of a vgpu-cuda-session process: messages
// in a shared-memory mailbox both processes map, so that a launch and its wait cross between
// them without a system call while the receiving end is watching (each socket call on that path
// cost about a microsecond, four of them per round trip). The session's socketpair stays: it
// carries a message too large for the mailbox, and its end tells either side that the other is
// gone. A second socketpair, the bell, wakes an end that stopped watching and sleeps.
//
// One message in flight per direction: the executor sends a request and waits for its reply
// before it sends the next (callers serialise), which is what lets each direction have a single
// slot. Both ends are vgpu's own programs, but the session process runs a guest's GPU work, so
// what the executor reads from the mailbox is checked like anything else it is sent.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace vgpu::executors::cuda::remote {

// The mailbox's layout (shared memory, host byte order: both ends are on one machine, of one
// build). Lane 0 carries requests (executor to session), lane 1 replies.
struct MailboxLane {
  alignas(64) std::atomic<std::uint32_t> published;  // messages put in this lane so far
  alignas(64) std::atomic<std::uint32_t> sleeping;   // 1: the receiver sleeps, ring the bell
  // The message, written before `published` is (atomics: the other end may write them at any
  // moment, and each is read once).
  alignas(64) std::atomic<std::uint8_t> tag;
  std::atomic<std::uint8_t> on_socket;  // 1: its body follows on the socketpair
  std::atomic<std::uint64_t> number;
  std::atomic<std::uint64_t> length;
};
struct MailboxHeader {
  std::uint64_t magic;
  std::uint64_t capacity;  // bytes of each lane's body area
  MailboxLane lanes[2];
};
static_assert(std::atomic<std::uint32_t>::is_always_lock_free &&
                  std::atomic<std::uint64_t>::is_always_lock_free,
              "the mailbox's atomics are shared between processes");
inline constexpr std::uint64_t kMailboxMagic = 0x31786f626c69616dULL;  // "mailbox1"
inline constexpr std::size_t kMailboxBodiesAt = 4096;  // lane i's body at this + i * capacity
static_assert(sizeof(MailboxHeader) <= kMailboxBodiesAt);
// A batch of launches and its answer are a few hundred bytes; a module image goes by socket.
inline constexpr std::size_t kMailboxCapacity = 256 * 1024;
inline constexpr std::uint64_t kMaxLinkMessageBytes = std::uint64_t(1) << 31;

struct LinkMessage {
  std::uint8_t tag = 0;
  std::uint64_t number = 0;
  std::vector<std::uint8_t> body;
};

class SessionLink {
 public:
  // The executor's end: makes the mailbox and the bell and hands them to the other end over
  // `channel` (a connected stream socket, which the link then owns; closed if this throws).
  // Throws std::runtime_error naming the system call that failed.
  static std::unique_ptr<SessionLink> offer(int channel, std::size_t capacity = kMailboxCapacity);
  // The session's end: takes what offer() sent on `channel` (owned from here on, closed on
  // failure); null when the channel ended or what came is not a mailbox of the right size.
  static std::unique_ptr<SessionLink> accept(int channel);
  ~SessionLink();
  SessionLink(const SessionLink&) = delete;
  SessionLink& operator=(const SessionLink&) = delete;

  // Puts one message in this end's outgoing lane (or on the socket, past the mailbox's
  // capacity); false when the other end is gone.
  bool send(std::uint8_t tag, std::uint64_t number, std::span<const std::uint8_t> body);

  enum class Wait { message, gone, timed_out };
  // The next message from the other end: watched for up to `spin` (a busy core, no wake-up),
  // then slept for, up to `limit` in all (zero: no limit). `gone`: the other end closed, died,
  // or sent what breaks the layout (a length past its bound).
  Wait receive(LinkMessage& out, std::chrono::microseconds spin,
               std::chrono::milliseconds limit = std::chrono::milliseconds(0));

  // Hangs up at once (the other end sees `gone`), e.g. after its process was killed.
  void close();

 private:
  SessionLink(int channel, int bell, void* map, std::size_t map_bytes, int out_lane);
  MailboxHeader& header() const { return *static_cast<MailboxHeader*>(map_); }
  std::uint8_t* body_area(int lane) const;
  bool arrived() const;
  bool channel_has_news() const;  // data or its end on the socket (a look, no wait)
  Wait sleep_until_arrived(std::chrono::steady_clock::time_point deadline, bool limited);
  Wait take(LinkMessage& out);

  int channel_ = -1;
  int bell_ = -1;
  void* map_ = nullptr;
  std::size_t map_bytes_ = 0;
  std::size_t capacity_ = 0;
  int out_ = 0, in_ = 1;
  std::uint32_t sent_ = 0, received_ = 0;
};

}  // namespace vgpu::executors::cuda::remote
