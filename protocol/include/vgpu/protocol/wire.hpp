// The binary frame format of the stream transports (tcp, vsock) and the guest library.
// Layout and rationale: docs/protocol.md. Everything is little-endian.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "vgpu/protocol/types.hpp"

namespace vgpu::wire {

inline constexpr std::uint32_t kMagic = 0x55504756;  // bytes "VGPU"
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 24;
inline constexpr std::size_t kMaxMetaBytes = 64 * 1024;
inline constexpr std::size_t kMaxParams = 64;
inline constexpr std::size_t kMaxBuffers = 16;
// Room for a successful RESULT's header and metadata (status, timings, up to 16 sizes; its
// message is empty or short): the core refuses a job whose output cannot fit max_frame minus this
// before it runs, and the stream session refuses any larger result it is handed.
inline constexpr std::size_t kResultMetaRoom = 1024;

// Header flags. `shared`: on HELLO the client asks for its VM's shared-memory region; on
// HELLO_OK the mediator grants it; on SUBMIT the inputs and outputs are places in it; on RESULT
// the outputs were written there (docs/protocol.md, "Shared memory").
inline constexpr std::uint16_t kFlagShared = 0x0001;
// `rings`: on HELLO (with `shared`) the client asks to exchange SUBMIT, CANCEL and RESULT frames
// through two rings in that region as well; on HELLO_OK the mediator grants them and says where
// they lie (docs/protocol.md, "Rings"; vgpu/protocol/ring.hpp).
inline constexpr std::uint16_t kFlagRings = 0x0002;
// Every flag this version defines; a frame with any other bit set is refused.
inline constexpr std::uint16_t kKnownFlags = kFlagShared | kFlagRings;

enum class FrameType : std::uint8_t {
  hello = 1,
  hello_ok = 2,
  submit = 3,
  result = 4,
  cancel = 5,
  ping = 6,
  pong = 7,
  error = 8,
  // Either direction, no metadata: "look at the rings" — sent only to a side that said it sleeps.
  nudge = 9,
};

// A frame that cannot be accepted. The message names the field that was wrong.
class WireError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FrameHeader {
  FrameType type = FrameType::ping;
  std::uint16_t flags = 0;
  std::uint32_t meta_len = 0;
  std::uint32_t data_len = 0;
  std::uint64_t tag = 0;
};

using HeaderBytes = std::array<std::uint8_t, kHeaderSize>;

namespace detail {
template <typename T>
void put(std::uint8_t* p, T v) {
  for (std::size_t i = 0; i < sizeof(T); ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}
template <typename T>
T get(const std::uint8_t* p) {
  T v = 0;
  for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(p[i]) << (8 * i);
  return v;
}
inline std::string hex16(std::uint16_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s(4, '0');
  for (int i = 3; i >= 0; --i, v >>= 4) s[i] = kDigits[v & 0xF];
  return s;
}
}  // namespace detail

inline HeaderBytes encode_header(const FrameHeader& h) {
  HeaderBytes b{};
  detail::put<std::uint32_t>(&b[0], kMagic);
  b[4] = kVersion;
  b[5] = static_cast<std::uint8_t>(h.type);
  detail::put<std::uint16_t>(&b[6], h.flags);
  detail::put<std::uint32_t>(&b[8], h.meta_len);
  detail::put<std::uint32_t>(&b[12], h.data_len);
  detail::put<std::uint64_t>(&b[16], h.tag);
  return b;
}

// Checks everything a header alone can show, including the total size against `max_frame`.
inline FrameHeader decode_header(std::span<const std::uint8_t, kHeaderSize> b,
                                 std::size_t max_frame) {
  if (detail::get<std::uint32_t>(&b[0]) != kMagic) throw WireError("bad magic: not a vgpu frame");
  if (b[4] != kVersion)
    throw WireError("unsupported protocol version " + std::to_string(b[4]) + " (this side speaks " +
                    std::to_string(kVersion) + ")");
  FrameHeader h;
  const std::uint8_t type = b[5];
  if (type < 1 || type > 9) throw WireError("unknown frame type " + std::to_string(type));
  h.type = static_cast<FrameType>(type);
  h.flags = detail::get<std::uint16_t>(&b[6]);
  h.meta_len = detail::get<std::uint32_t>(&b[8]);
  h.data_len = detail::get<std::uint32_t>(&b[12]);
  h.tag = detail::get<std::uint64_t>(&b[16]);
  if (h.flags & ~kKnownFlags)
    throw WireError("undefined flag bits 0x" + detail::hex16(h.flags & ~kKnownFlags) +
                    " (this side defines 0x" + detail::hex16(kKnownFlags) + ")");
  if (h.meta_len > kMaxMetaBytes)
    throw WireError("metadata of " + std::to_string(h.meta_len) + " bytes exceeds the limit of " +
                    std::to_string(kMaxMetaBytes));
  const std::uint64_t total = kHeaderSize + std::uint64_t(h.meta_len) + h.data_len;
  if (total > max_frame)
    throw WireError("frame of " + std::to_string(total) + " bytes exceeds the maximum of " +
                    std::to_string(max_frame));
  if (h.data_len != 0 && h.type != FrameType::submit && h.type != FrameType::result)
    throw WireError("frame type " + std::to_string(type) + " carries no data section");
  return h;
}

class MetaWriter {
 public:
  explicit MetaWriter(std::vector<std::uint8_t>& out) : out_(out) {}
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u16(std::uint16_t v) { append(v); }
  void u32(std::uint32_t v) { append(v); }
  void u64(std::uint64_t v) { append(v); }
  void str(const std::string& s) {
    if (s.size() > UINT16_MAX) throw WireError("string field longer than 65535 bytes");
    u16(static_cast<std::uint16_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }

 private:
  template <typename T>
  void append(T v) {
    const std::size_t at = out_.size();
    out_.resize(at + sizeof(T));
    detail::put<T>(out_.data() + at, v);
  }
  std::vector<std::uint8_t>& out_;
};

class MetaReader {
 public:
  explicit MetaReader(std::span<const std::uint8_t> in) : in_(in) {}
  std::uint8_t u8() { return take<std::uint8_t>("u8"); }
  std::uint16_t u16() { return take<std::uint16_t>("u16"); }
  std::uint32_t u32() { return take<std::uint32_t>("u32"); }
  std::uint64_t u64() { return take<std::uint64_t>("u64"); }
  std::string str(const char* field) {
    const std::uint16_t n = u16();
    if (in_.size() - pos_ < n)
      throw WireError(std::string("truncated string field '") + field + "'");
    std::string s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  void expect_end() const {
    if (pos_ != in_.size())
      throw WireError(std::to_string(in_.size() - pos_) + " unexpected trailing metadata bytes");
  }

 private:
  template <typename T>
  T take(const char* what) {
    if (in_.size() - pos_ < sizeof(T))
      throw WireError(std::string("truncated metadata (") + what + ")");
    T v = detail::get<T>(in_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

// ---- messages (metadata sections) ----

struct Hello {
  std::uint32_t vm_id = 0;
  std::string token;
  std::string client;  // free text for logs, e.g. "vgpu-client 0.1"
};

struct HelloOk {
  std::uint32_t vm_id = 0;
  std::uint8_t priority = 1;
  std::string pool;
  std::string vm_name;
  std::uint32_t max_frame = 0;
  // With kFlagShared only: the region's size and the file behind it on the host (a client on
  // the host maps that file; a guest maps the vgpu-stub's shared-memory BAR instead).
  std::uint64_t shared_bytes = 0;
  std::string shared_name;
  // With kFlagRings only: where in the region the rings lie (wire::kRingsBytes from there).
  std::optional<std::uint64_t> rings_offset;
};

// A range of the VM's shared-memory region.
struct Extent {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
};

struct Submit {
  std::string op;
  std::vector<protocol::Param> params;
  std::uint32_t deadline_ms = 0;  // 0: none
  std::vector<std::uint64_t> buffer_sizes;
  // With kFlagShared only: the inputs (instead of buffers in the data section) and one place per
  // output (offset and capacity).
  std::vector<Extent> shared_inputs;
  std::vector<Extent> shared_outputs;
};

struct ResultMeta {
  std::uint16_t status = 0;
  std::string message;
  std::uint64_t queued_ns = 0;
  std::uint64_t wall_ns = 0;
  std::uint64_t device_ns = 0;
  std::uint64_t dispatch_sequence = 0;
  std::vector<std::uint64_t> buffer_sizes;
};

struct ErrorMsg {
  std::uint16_t status = 0;
  std::string message;
};

inline void encode(const Hello& m, std::vector<std::uint8_t>& out) {
  MetaWriter w(out);
  w.u32(m.vm_id);
  w.str(m.token);
  w.str(m.client);
}
inline Hello decode_hello(std::span<const std::uint8_t> in) {
  MetaReader r(in);
  Hello m;
  m.vm_id = r.u32();
  m.token = r.str("token");
  m.client = r.str("client");
  r.expect_end();
  return m;
}

inline void encode(const HelloOk& m, std::vector<std::uint8_t>& out) {
  MetaWriter w(out);
  w.u32(m.vm_id);
  w.u8(m.priority);
  w.str(m.pool);
  w.str(m.vm_name);
  w.u32(m.max_frame);
  if (m.shared_bytes) {
    w.u64(m.shared_bytes);
    w.str(m.shared_name);
    if (m.rings_offset) w.u64(*m.rings_offset);
  }
}
// The flags of a HELLO_OK frame carrying `m`.
inline std::uint16_t flags_of(const HelloOk& m) {
  if (!m.shared_bytes) return 0;
  return m.rings_offset ? kFlagShared | kFlagRings : kFlagShared;
}
inline HelloOk decode_hello_ok(std::span<const std::uint8_t> in, std::uint16_t flags = 0) {
  MetaReader r(in);
  HelloOk m;
  m.vm_id = r.u32();
  m.priority = r.u8();
  m.pool = r.str("pool");
  m.vm_name = r.str("vm_name");
  m.max_frame = r.u32();
  if (flags & kFlagShared) {
    m.shared_bytes = r.u64();
    m.shared_name = r.str("shared_name");
    if (flags & kFlagRings) m.rings_offset = r.u64();
  }
  r.expect_end();
  return m;
}

namespace detail {
inline void write_sizes(MetaWriter& w, const std::vector<std::uint64_t>& sizes) {
  if (sizes.size() > kMaxBuffers) throw WireError("more than 16 buffers");
  w.u16(static_cast<std::uint16_t>(sizes.size()));
  for (auto s : sizes) w.u64(s);
}
inline std::vector<std::uint64_t> read_sizes(MetaReader& r) {
  const std::uint16_t n = r.u16();
  if (n > kMaxBuffers)
    throw WireError("buffer count " + std::to_string(n) + " exceeds the limit of 16");
  std::vector<std::uint64_t> sizes(n);
  for (auto& s : sizes) s = r.u64();
  return sizes;
}
inline void write_extents(MetaWriter& w, const std::vector<Extent>& extents) {
  if (extents.size() > kMaxBuffers) throw WireError("more than 16 shared-memory extents");
  w.u16(static_cast<std::uint16_t>(extents.size()));
  for (const auto& e : extents) {
    w.u64(e.offset);
    w.u64(e.size);
  }
}
inline std::vector<Extent> read_extents(MetaReader& r, const char* what) {
  const std::uint16_t n = r.u16();
  if (n > kMaxBuffers)
    throw WireError(std::string(what) + " count " + std::to_string(n) + " exceeds the limit of 16");
  std::vector<Extent> extents(n);
  for (auto& e : extents) {
    e.offset = r.u64();
    e.size = r.u64();
  }
  return extents;
}
}  // namespace detail

inline void encode(const Submit& m, std::vector<std::uint8_t>& out) {
  MetaWriter w(out);
  w.str(m.op);
  if (m.params.size() > kMaxParams) throw WireError("more than 64 parameters");
  w.u16(static_cast<std::uint16_t>(m.params.size()));
  for (const auto& p : m.params) {
    w.str(p.key);
    w.str(p.value);
  }
  w.u32(m.deadline_ms);
  detail::write_sizes(w, m.buffer_sizes);
  if (!m.shared_inputs.empty() || !m.shared_outputs.empty()) {
    detail::write_extents(w, m.shared_inputs);
    detail::write_extents(w, m.shared_outputs);
  }
}
// The flag of a SUBMIT frame carrying `m`.
inline std::uint16_t flags_of(const Submit& m) {
  return m.shared_inputs.empty() && m.shared_outputs.empty() ? 0 : kFlagShared;
}
inline Submit decode_submit(std::span<const std::uint8_t> in, std::uint16_t flags = 0) {
  MetaReader r(in);
  Submit m;
  m.op = r.str("op");
  if (m.op.empty()) throw WireError("empty op name");
  const std::uint16_t n = r.u16();
  if (n > kMaxParams)
    throw WireError("parameter count " + std::to_string(n) + " exceeds the limit of 64");
  m.params.resize(n);
  for (auto& p : m.params) {
    p.key = r.str("param key");
    p.value = r.str("param value");
  }
  m.deadline_ms = r.u32();
  m.buffer_sizes = detail::read_sizes(r);
  if (flags & kFlagShared) {
    m.shared_inputs = detail::read_extents(r, "shared input");
    m.shared_outputs = detail::read_extents(r, "shared output");
    if (!m.buffer_sizes.empty() && !m.shared_inputs.empty())
      throw WireError(
          "a SUBMIT sends its inputs in the data section or in shared memory, not both");
  }
  r.expect_end();
  return m;
}

inline void encode(const ResultMeta& m, std::vector<std::uint8_t>& out) {
  MetaWriter w(out);
  w.u16(m.status);
  w.str(m.message);
  w.u64(m.queued_ns);
  w.u64(m.wall_ns);
  w.u64(m.device_ns);
  w.u64(m.dispatch_sequence);
  detail::write_sizes(w, m.buffer_sizes);
}
inline ResultMeta decode_result(std::span<const std::uint8_t> in) {
  MetaReader r(in);
  ResultMeta m;
  m.status = r.u16();
  m.message = r.str("message");
  m.queued_ns = r.u64();
  m.wall_ns = r.u64();
  m.device_ns = r.u64();
  m.dispatch_sequence = r.u64();
  m.buffer_sizes = detail::read_sizes(r);
  r.expect_end();
  return m;
}

inline void encode(const ErrorMsg& m, std::vector<std::uint8_t>& out) {
  MetaWriter w(out);
  w.u16(m.status);
  w.str(m.message);
}
inline ErrorMsg decode_error(std::span<const std::uint8_t> in) {
  MetaReader r(in);
  ErrorMsg m;
  m.status = r.u16();
  m.message = r.str("message");
  r.expect_end();
  return m;
}

// The data section must be exactly the listed buffers. Each size is checked against what is
// left of data_len before it is added, so no sum of guest-chosen sizes can wrap around.
inline void check_buffer_sizes(const std::vector<std::uint64_t>& sizes, std::uint32_t data_len) {
  std::uint64_t left = data_len;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] > left)
      throw WireError("buffer " + std::to_string(i) + " of " + std::to_string(sizes[i]) +
                      " bytes does not fit the data section of " + std::to_string(data_len) +
                      " bytes (" + std::to_string(left) + " left)");
    left -= sizes[i];
  }
  if (left != 0)
    throw WireError("buffer sizes add up to " + std::to_string(data_len - left) +
                    " bytes but the data section holds " + std::to_string(data_len));
}

// Header plus metadata in one contiguous block; the buffers follow it on the wire (gathered by
// the writer, never copied into this block).
template <typename Message>
std::vector<std::uint8_t> frame_prefix(FrameType type, std::uint64_t tag, const Message& m,
                                       std::uint64_t data_len = 0, std::uint16_t flags = 0) {
  if (data_len > UINT32_MAX) throw WireError("data section larger than 4 GiB");
  std::vector<std::uint8_t> out(kHeaderSize);
  encode(m, out);
  FrameHeader h{type, flags, static_cast<std::uint32_t>(out.size() - kHeaderSize),
                static_cast<std::uint32_t>(data_len), tag};
  auto hb = encode_header(h);
  std::memcpy(out.data(), hb.data(), kHeaderSize);
  return out;
}

inline std::vector<std::uint8_t> empty_frame(FrameType type, std::uint64_t tag) {
  auto hb = encode_header(FrameHeader{type, 0, 0, 0, tag});
  return {hb.begin(), hb.end()};
}

inline std::uint64_t total_size(const std::vector<protocol::Buffer>& buffers) {
  std::uint64_t sum = 0;
  for (const auto& b : buffers) sum += b.size();
  return sum;
}

inline std::vector<std::uint64_t> sizes_of(const std::vector<protocol::Buffer>& buffers) {
  std::vector<std::uint64_t> sizes;
  sizes.reserve(buffers.size());
  for (const auto& b : buffers) sizes.push_back(b.size());
  return sizes;
}

}  // namespace vgpu::wire
