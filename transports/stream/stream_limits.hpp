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

// The settings of the limits above, shared by every stream transport's schema. The defaults are
// the struct's; the reasons are in docs/hardening.md.
inline constexpr sdk::SettingSpec kStreamLimitSettings[] = {
    {"hello_timeout_ms", sdk::SettingType::integer, 100, 600'000, "10000",
     "a connection without a complete HELLO by then is closed", nullptr},
    {"frame_timeout_ms", sdk::SettingType::integer, 100, 3'600'000, "30000",
     "a connection that stops mid-frame this long is closed (idle ones are not)", nullptr},
    {"max_unauthenticated", sdk::SettingType::integer, 1, 1'000'000, "64",
     "connections without HELLO at once; a new one closes the oldest", nullptr},
    {"max_connections", sdk::SettingType::integer, 1, 1'000'000, "4096",
     "connections of any kind at once; one more is refused with an ERROR", nullptr},
    {"max_unsent_mb", sdk::SettingType::integer, 1, 65536, "64",
     "unread results per connection before its requests wait (nothing is dropped)", nullptr},
    {"max_unsent_mb_per_vm", sdk::SettingType::integer, 1, 65536, "256",
     "unread results per VM, over all its connections, before its requests wait", nullptr},
    {"max_partial_mb_per_vm", sdk::SettingType::integer, 1, 65536, "256",
     "bytes of frames still arriving, per VM", nullptr},
    {"max_partial_mb", sdk::SettingType::integer, 1, 65536, "1024",
     "bytes of frames still arriving, over all VMs", nullptr},
    {"auth_failures_allowed", sdk::SettingType::integer, 1, 1000, "5",
     "failed HELLOs from one address and vm_id before each further one waits", nullptr},
    {"auth_backoff_max_ms", sdk::SettingType::integer, 1, 3'600'000, "60000",
     "the longest wait after failed HELLOs (it doubles per failure)", nullptr},
};

inline StreamLimits read_stream_limits(const sdk::Settings& settings) {
  StreamLimits l;
  auto ms = [&](const char* key) { return std::chrono::milliseconds(settings.integer(key)); };
  auto count = [&](const char* key) { return std::size_t(settings.integer(key)); };
  auto mib = [&](const char* key) { return std::size_t(settings.integer(key)) << 20; };
  l.hello_timeout = ms("hello_timeout_ms");
  l.frame_timeout = ms("frame_timeout_ms");
  l.max_unauthenticated = count("max_unauthenticated");
  l.max_connections = count("max_connections");
  l.max_unsent_bytes = mib("max_unsent_mb");
  l.max_unsent_bytes_per_vm = mib("max_unsent_mb_per_vm");
  l.max_partial_bytes_per_vm = mib("max_partial_mb_per_vm");
  l.max_partial_bytes = mib("max_partial_mb");
  l.auth_failures_allowed = static_cast<unsigned>(settings.integer("auth_failures_allowed"));
  l.auth_backoff_max = ms("auth_backoff_max_ms");
  return l;
}

}  // namespace vgpu::transports
