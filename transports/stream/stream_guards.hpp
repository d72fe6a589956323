// The state a stream transport keeps across its connections to enforce StreamLimits: bytes held
// per VM and in total, and the HELLO failure budget per peer.
#pragma once

#include "auth_throttle.hpp"
#include "byte_ledger.hpp"
#include "stream_limits.hpp"
#include "vgpu/sdk/log_limiter.hpp"

namespace vgpu::transports {

struct StreamGuards {
  explicit StreamGuards(StreamLimits l)
      : limits(l),
        unsent(l.max_unsent_bytes_per_vm, SIZE_MAX),
        partial(l.max_partial_bytes_per_vm, l.max_partial_bytes),
        throttle(l.auth_failures_allowed, l.auth_backoff_max) {}

  const StreamLimits limits;
  ByteLedger unsent;   // results queued for writing, per VM
  ByteLedger partial;  // data sections received in part, per VM and in total
  AuthThrottle throttle;
  sdk::LogLimiter refusals;  // lines about closed connections and refused accepts
};

}  // namespace vgpu::transports
