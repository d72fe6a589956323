// The messages between the mediator's cuda executor and one vgpu-cuda-session process, over a
// socketpair: a request (open, a batch of calls, close) and its reply. Both ends are vgpu's own,
// but the reply still has its sizes checked, as the child runs a guest's GPU work.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vgpu::executors::cuda::remote {

// shared_memory: the body is the path of the VM's shared-memory region (its transport's file),
// which the session maps for the copies through shared memory.
enum class SessionRequest : std::uint8_t { open = 1, calls = 2, close = 3, shared_memory = 4 };

struct Request {
  SessionRequest kind = SessionRequest::calls;
  std::uint64_t budget = 0;  // bytes of device memory the session may hold after this batch
  std::vector<std::uint8_t> body;
};

enum class Outcome : std::uint8_t { failed = 0, ok = 1, bad_request = 2 };

struct Reply {
  Outcome outcome = Outcome::failed;
  std::uint64_t bytes_held = 0;    // the session's device memory after the request
  std::vector<std::uint8_t> body;  // description, batch answer, or the error's text
};

inline constexpr std::uint64_t kMaxMessageBytes = std::uint64_t(1) << 31;

// Watches `fd` for up to `spin` before the blocking read that follows: a reply that comes within
// it costs no thread wake-up (tens of microseconds on a busy host), at the price of a busy core.
void spin_until_readable(int fd, std::chrono::microseconds spin);

// Whole messages on a blocking descriptor; false when the other end is gone (or sent more than
// kMaxMessageBytes).
bool write_request(int fd, SessionRequest kind, std::uint64_t budget,
                   std::span<const std::uint8_t> body);
std::optional<Request> read_request(int fd);
bool write_reply(int fd, const Reply& r);
std::optional<Reply> read_reply(int fd);

// A pool's shared session process (docs/remote-cuda.md, "Shared pools") takes each new session
// as a descriptor sent over its control socket, with the session's priority level and quota.
struct NewSession {
  int fd = -1;
  std::int32_t priority = 1;
  std::uint64_t quota = 0;
};
bool send_session(int control, int fd, std::int32_t priority, std::uint64_t quota);
std::optional<NewSession> receive_session(int control);

}  // namespace vgpu::executors::cuda::remote
