// The vocabulary a guest and the mediator share: byte buffers, key=value parameters, the status
// of a result and the priority names. Both protocols (the framed stream, the file spool) carry
// these, and the plugin SDK uses the same types for jobs, so a status a plugin returns is the
// status the guest reads, with no translation in between.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace vgpu::protocol {

using Buffer = std::vector<std::uint8_t>;

struct Param {
  std::string key;
  std::string value;
};

// What a result says. Each value is a wire fact (a guest reads the number), so values are never
// renumbered or reused; a new status gets the next number. The comment on each says what the
// one who asked should do next.
enum class Status : std::uint16_t {
  ok = 0,                 // done; the outputs are the answer
  bad_request = 1,        // fix the request: resending it unchanged fails the same way
  unknown_op = 2,         // no executor here runs this op: fix the request or ask another host
  queue_full = 3,         // back off, then resend: the VM's or the mediator's queue is full
  cancelled = 4,          // the job was withdrawn (by its client, or its connection closed)
  execution_error = 5,    // the op ran and failed; the message says why. Retrying may help when
                          // the message says "interrupted:" or the executor was replaced
  shutting_down = 6,      // the mediator is stopping: reconnect later and resend
  unauthenticated = 7,    // fix the identity (vm_id, token) before anything else
  deadline_exceeded = 8,  // the deadline passed before the job could start; resend with a
                          // later deadline or at a quieter time
  internal_error = 9,     // a mediator fault, logged on the host: report it; resending may work
  quota_exceeded = 10,    // the VM's memory quota cannot hold this job: make it smaller or ask
                          // the operator for a larger quota; resending unchanged fails again
};

inline const char* to_string(Status s) {
  switch (s) {
    case Status::ok:
      return "ok";
    case Status::bad_request:
      return "bad_request";
    case Status::unknown_op:
      return "unknown_op";
    case Status::queue_full:
      return "queue_full";
    case Status::cancelled:
      return "cancelled";
    case Status::execution_error:
      return "execution_error";
    case Status::shutting_down:
      return "shutting_down";
    case Status::unauthenticated:
      return "unauthenticated";
    case Status::deadline_exceeded:
      return "deadline_exceeded";
    case Status::internal_error:
      return "internal_error";
    case Status::quota_exceeded:
      return "quota_exceeded";
  }
  return "unknown_status";
}

// Priority levels as the config DB and both protocols number them.
inline constexpr int kPriorityLevels = 3;

inline const char* priority_name(int priority) {
  switch (priority) {
    case 0:
      return "low";
    case 1:
      return "medium";
    case 2:
      return "high";
  }
  return "invalid";
}

}  // namespace vgpu::protocol
