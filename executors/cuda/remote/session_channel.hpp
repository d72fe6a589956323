// The messages between the mediator's cuda executor and one session of a vgpu-cuda-session
// process, over their SessionLink (session_link.hpp): a request (open, a batch of calls, close)
// and its reply. Both ends are vgpu's own, but the reply still has its sizes checked, as the
// child runs a guest's GPU work.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "session_link.hpp"

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

// One message each way; false or nullopt when the other end is gone or sent what is not a
// message of this kind. `spin`: how long to watch for the request before sleeping.
bool write_request(SessionLink& link, SessionRequest kind, std::uint64_t budget,
                   std::span<const std::uint8_t> body);
std::optional<Request> read_request(SessionLink& link, std::chrono::microseconds spin);
bool write_reply(SessionLink& link, const Reply& r);
// The reply to the request sent last: watched for `spin`, waited for up to `limit` in all
// (zero: no limit). `gone` also for a reply that is not one.
SessionLink::Wait read_reply(SessionLink& link, Reply& r, std::chrono::microseconds spin,
                             std::chrono::milliseconds limit);

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
