// What one guest may hold of the mediator through a stream transport (tcp, vsock): time, memory
// and connections, bounded per connection, per VM and in total. Every limit is a transport
// setting; the defaults and their reasons are in configs/mediator.yaml and docs/protocol.md
// ("Limits and timeouts").
#pragma once

#include <chrono>
#include <cstddef>

#include "vgpu/sdk/settings.hpp"

namespace vgpu::transports {

struct StreamLimits {
  // A connection that has not completed HELLO by then is closed.
  std::chrono::milliseconds hello_timeout{10'000};
  // A connection that stops sending in the middle of a frame for this long is closed. An idle
  // connection between frames is never closed.
  std::chrono::milliseconds frame_timeout{30'000};
  // Connections that have not completed HELLO; when a new one would exceed it, the oldest of them
  // is closed (a legitimate client says HELLO at once, an idle flood ages out first).
  std::size_t max_unauthenticated = 64;
  // Connections of any kind; a connection past it is closed at once with an ERROR.
  std::size_t max_connections = 4096;
  // Results waiting to be written: while a connection's (or its VM's) unsent bytes are over
  // these, the mediator reads no more requests from it (and so runs none), until the client
  // reads its results.
  std::size_t max_unsent_bytes = 64u << 20;
  std::size_t max_unsent_bytes_per_vm = 256u << 20;
  // Bytes of frames received only in part (a data section still arriving) per VM and in total.
  // A body is read as it arrives, so announcing a size reserves nothing; a connection that would
  // go over waits, without reading, until others' frames complete.
  std::size_t max_partial_bytes_per_vm = 256u << 20;
  std::size_t max_partial_bytes = 1024u << 20;
  // Failed HELLOs from one address (IP, or vsock CID) before it must wait; each further failure
  // doubles the wait, up to auth_backoff_max.
  unsigned auth_failures_allowed = 5;
  std::chrono::milliseconds auth_backoff_max{60'000};
};

inline StreamLimits read_stream_limits(sdk::SettingsReader& reader) {
  StreamLimits l;
  auto ms = [&](const char* key, std::chrono::milliseconds fallback, unsigned lo, unsigned hi) {
    return std::chrono::milliseconds(
        reader.get_in_range<unsigned>(key, static_cast<unsigned>(fallback.count()), lo, hi));
  };
  auto mib = [&](const char* key, std::size_t fallback) {
    return std::size_t(reader.get_in_range<unsigned>(key, unsigned(fallback >> 20), 1, 65536))
           << 20;
  };
  l.hello_timeout = ms("hello_timeout_ms", l.hello_timeout, 100, 600'000);
  l.frame_timeout = ms("frame_timeout_ms", l.frame_timeout, 100, 3'600'000);
  l.max_unauthenticated = reader.get_in_range<unsigned>(
      "max_unauthenticated", unsigned(l.max_unauthenticated), 1, 1'000'000);
  l.max_connections =
      reader.get_in_range<unsigned>("max_connections", unsigned(l.max_connections), 1, 1'000'000);
  l.max_unsent_bytes = mib("max_unsent_mb", l.max_unsent_bytes);
  l.max_unsent_bytes_per_vm = mib("max_unsent_mb_per_vm", l.max_unsent_bytes_per_vm);
  l.max_partial_bytes_per_vm = mib("max_partial_mb_per_vm", l.max_partial_bytes_per_vm);
  l.max_partial_bytes = mib("max_partial_mb", l.max_partial_bytes);
  l.auth_failures_allowed =
      reader.get_in_range<unsigned>("auth_failures_allowed", l.auth_failures_allowed, 1, 1000);
  l.auth_backoff_max = ms("auth_backoff_max_ms", l.auth_backoff_max, 1, 3'600'000);
  return l;
}

}  // namespace vgpu::transports
