#include "vgpu/protocol/wire.hpp"

#include <gtest/gtest.h>

using namespace vgpu::wire;

namespace {

std::span<const std::uint8_t, kHeaderSize> header_of(const std::vector<std::uint8_t>& frame) {
  return std::span<const std::uint8_t, kHeaderSize>(frame.data(), kHeaderSize);
}

std::span<const std::uint8_t> meta_of(const std::vector<std::uint8_t>& frame) {
  return {frame.data() + kHeaderSize, frame.size() - kHeaderSize};
}

}  // namespace

TEST(Wire, HeaderRoundTrip) {
  FrameHeader h{FrameType::submit, 3, 100, 4096, 0x1122334455667788ull};
  auto bytes = encode_header(h);
  EXPECT_EQ(bytes[0], 'V');
  EXPECT_EQ(bytes[3], 'U');
  auto back = decode_header(bytes, 1 << 20);
  EXPECT_EQ(back.type, FrameType::submit);
  EXPECT_EQ(back.flags, 3);
  EXPECT_EQ(back.meta_len, 100u);
  EXPECT_EQ(back.data_len, 4096u);
  EXPECT_EQ(back.tag, 0x1122334455667788ull);
}

TEST(Wire, UndefinedFlagBitsAreRefused) {
  for (std::uint16_t bit : {0x0004, 0x0100, 0x8000}) {
    auto bytes = encode_header(FrameHeader{FrameType::ping, bit, 0, 0, 1});
    try {
      decode_header(bytes, 1 << 20);
      ADD_FAILURE() << "flag " << bit << " was accepted";
    } catch (const WireError& e) {
      EXPECT_NE(std::string(e.what()).find("undefined flag bits"), std::string::npos) << e.what();
    }
  }
}

// Sizes whose u64 sum wraps around to data_len once crashed the mediator (std::length_error
// from allocating the buffers): each size must be checked against what is left.
TEST(Wire, BufferSizesThatWrapAroundAreRefused) {
  const std::vector<std::vector<std::uint64_t>> wrapping{
      {UINT64_MAX - 63, 128}, {1ull << 63, 1ull << 63, 64}, {UINT64_MAX, 65}};
  for (const auto& sizes : wrapping) {
    try {
      check_buffer_sizes(sizes, 64);
      ADD_FAILURE() << "sizes starting " << sizes[0] << " were accepted";
    } catch (const WireError& e) {
      EXPECT_NE(std::string(e.what()).find("does not fit the data section of 64"),
                std::string::npos)
          << e.what();
    }
  }
  EXPECT_NO_THROW(check_buffer_sizes({16, 48}, 64));
  EXPECT_THROW(check_buffer_sizes({16, 16}, 64), WireError);
}

TEST(Wire, HelloRoundTrip) {
  auto frame = frame_prefix(FrameType::hello, 1, Hello{42, "0123456789abcdef", "test"});
  auto h = decode_header(header_of(frame), 1 << 20);
  EXPECT_EQ(h.type, FrameType::hello);
  EXPECT_EQ(h.meta_len, frame.size() - kHeaderSize);
  auto m = decode_hello(meta_of(frame));
  EXPECT_EQ(m.vm_id, 42u);
  EXPECT_EQ(m.token, "0123456789abcdef");
  EXPECT_EQ(m.client, "test");
}

TEST(Wire, HelloOkRoundTrip) {
  auto frame =
      frame_prefix(FrameType::hello_ok, 1, HelloOk{3, 2, "B", "vm-three", 65536, 0, "", {}});
  auto m = decode_hello_ok(meta_of(frame));
  EXPECT_EQ(m.vm_id, 3u);
  EXPECT_EQ(m.priority, 2);
  EXPECT_EQ(m.pool, "B");
  EXPECT_EQ(m.vm_name, "vm-three");
  EXPECT_EQ(m.max_frame, 65536u);
}

TEST(Wire, SubmitRoundTrip) {
  Submit s{"gemm", {{"n", "64"}, {"seed", "9"}}, 250, {256, 0, 1024}, {}, {}};
  auto frame = frame_prefix(FrameType::submit, 99, s, 1280);
  auto h = decode_header(header_of(frame), 1 << 20);
  EXPECT_EQ(h.data_len, 1280u);
  EXPECT_EQ(h.tag, 99u);
  auto m = decode_submit(meta_of(frame));
  EXPECT_EQ(m.op, "gemm");
  ASSERT_EQ(m.params.size(), 2u);
  EXPECT_EQ(m.params[1].key, "seed");
  EXPECT_EQ(m.params[1].value, "9");
  EXPECT_EQ(m.deadline_ms, 250u);
  EXPECT_EQ(m.buffer_sizes, (std::vector<std::uint64_t>{256, 0, 1024}));
  EXPECT_NO_THROW(check_buffer_sizes(m.buffer_sizes, h.data_len));
}

TEST(Wire, ResultAndErrorRoundTrip) {
  ResultMeta r{5, "boom", 10, 20, 30, 40, {8}};
  auto frame = frame_prefix(FrameType::result, 4, r, 8);
  auto m = decode_result(meta_of(frame));
  EXPECT_EQ(m.status, 5);
  EXPECT_EQ(m.message, "boom");
  EXPECT_EQ(m.queued_ns, 10u);
  EXPECT_EQ(m.wall_ns, 20u);
  EXPECT_EQ(m.device_ns, 30u);
  EXPECT_EQ(m.dispatch_sequence, 40u);
  EXPECT_EQ(m.buffer_sizes, std::vector<std::uint64_t>{8});

  auto ef = frame_prefix(FrameType::error, 0, ErrorMsg{1, "bad frame"});
  auto e = decode_error(meta_of(ef));
  EXPECT_EQ(e.status, 1);
  EXPECT_EQ(e.message, "bad frame");
}

TEST(Wire, EmptyFrames) {
  auto f = empty_frame(FrameType::ping, 17);
  ASSERT_EQ(f.size(), kHeaderSize);
  auto h = decode_header(header_of(f), kHeaderSize);
  EXPECT_EQ(h.type, FrameType::ping);
  EXPECT_EQ(h.tag, 17u);
}

// ---- every malformed case is refused with a message naming what is wrong ----

void expect_header_error(std::vector<std::uint8_t> frame, std::size_t max_frame,
                         const std::string& fragment) {
  try {
    decode_header(header_of(frame), max_frame);
    FAIL() << "accepted a malformed header, expected: " << fragment;
  } catch (const WireError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(WireMalformed, BadMagic) {
  auto f = empty_frame(FrameType::ping, 1);
  f[0] = 'X';
  expect_header_error(f, 1024, "bad magic");
}

TEST(WireMalformed, BadVersion) {
  auto f = empty_frame(FrameType::ping, 1);
  f[4] = 9;
  expect_header_error(f, 1024, "unsupported protocol version 9");
}

TEST(WireMalformed, UnknownType) {
  auto f = empty_frame(FrameType::ping, 1);
  f[5] = 0;
  expect_header_error(f, 1024, "unknown frame type 0");
  f[5] = 200;
  expect_header_error(f, 1024, "unknown frame type 200");
}

TEST(WireMalformed, OversizeFrame) {
  auto f = frame_prefix(FrameType::submit, 1, Submit{"noop", {}, 0, {1000}, {}, {}}, 1000);
  expect_header_error(f, 512, "exceeds the maximum of 512");
}

TEST(WireMalformed, OversizeMetadata) {
  auto f = empty_frame(FrameType::hello, 1);
  detail::put<std::uint32_t>(&f[8], kMaxMetaBytes + 1);
  expect_header_error(f, 1 << 30, "metadata of");
}

TEST(WireMalformed, DataOnFrameWithoutData) {
  auto f = empty_frame(FrameType::hello, 1);
  detail::put<std::uint32_t>(&f[12], 4);
  expect_header_error(f, 1 << 20, "carries no data section");
}

TEST(WireMalformed, TruncatedMetadata) {
  auto f = frame_prefix(FrameType::hello, 1, Hello{1, "token", "c"});
  auto meta = meta_of(f);
  for (std::size_t cut = 0; cut < meta.size(); ++cut)
    EXPECT_THROW(decode_hello(meta.first(cut)), WireError) << "cut at " << cut;
}

TEST(WireMalformed, TrailingMetadata) {
  auto f = frame_prefix(FrameType::hello, 1, Hello{1, "t", "c"});
  f.push_back(0);
  EXPECT_THROW(decode_hello(meta_of(f)), WireError);
}

TEST(WireMalformed, StringLongerThanMetadata) {
  std::vector<std::uint8_t> meta;
  MetaWriter w(meta);
  w.u32(1);
  w.u16(500);  // claims a 500-byte token that is not there
  EXPECT_THROW(decode_hello(meta), WireError);
}

TEST(WireMalformed, TooManyParamsOrBuffers) {
  std::vector<std::uint8_t> meta;
  MetaWriter w(meta);
  w.str("noop");
  w.u16(kMaxParams + 1);
  EXPECT_THROW(decode_submit(meta), WireError);

  std::vector<std::uint8_t> meta2;
  MetaWriter w2(meta2);
  w2.str("noop");
  w2.u16(0);
  w2.u32(0);
  w2.u16(kMaxBuffers + 1);
  EXPECT_THROW(decode_submit(meta2), WireError);
}

TEST(WireMalformed, EmptyOp) {
  auto f = frame_prefix(FrameType::submit, 1, Submit{"", {}, 0, {}, {}, {}});
  EXPECT_THROW(decode_submit(meta_of(f)), WireError);
}

TEST(WireMalformed, BufferSizesDisagreeWithData) {
  EXPECT_THROW(check_buffer_sizes({100, 100}, 150), WireError);
  EXPECT_NO_THROW(check_buffer_sizes({100, 50}, 150));
}

TEST(Wire, SharedMemoryHelloOkCarriesTheRegionOnlyWithTheFlag) {
  HelloOk ok{3, 2, "B", "vm-three", 65536, 16 << 20, "/dev/shm/vgpu/vm3", {}};
  EXPECT_EQ(flags_of(ok), kFlagShared);
  auto frame = frame_prefix(FrameType::hello_ok, 1, ok, 0, flags_of(ok));
  auto h = decode_header(header_of(frame), 1 << 20);
  EXPECT_EQ(h.flags, kFlagShared);
  auto m = decode_hello_ok(meta_of(frame), h.flags);
  EXPECT_EQ(m.shared_bytes, 16u << 20);
  EXPECT_EQ(m.shared_name, "/dev/shm/vgpu/vm3");
  // Read without the flag, the region's fields are bytes nobody asked for.
  EXPECT_THROW(decode_hello_ok(meta_of(frame)), WireError);
  ok.shared_bytes = 0;
  EXPECT_EQ(flags_of(ok), 0);
}

TEST(Wire, SharedMemorySubmitRoundTrip) {
  Submit s{"vector_add", {{"n", "4"}}, 0, {}, {{0, 16}, {16, 16}}, {{4096, 1 << 20}}};
  EXPECT_EQ(flags_of(s), kFlagShared);
  auto frame = frame_prefix(FrameType::submit, 5, s, 0, flags_of(s));
  auto h = decode_header(header_of(frame), 1 << 20);
  auto m = decode_submit(meta_of(frame), h.flags);
  ASSERT_EQ(m.shared_inputs.size(), 2u);
  EXPECT_EQ(m.shared_inputs[1].offset, 16u);
  EXPECT_EQ(m.shared_inputs[1].size, 16u);
  ASSERT_EQ(m.shared_outputs.size(), 1u);
  EXPECT_EQ(m.shared_outputs[0].offset, 4096u);
  EXPECT_EQ(m.shared_outputs[0].size, 1u << 20);
  EXPECT_THROW(decode_submit(meta_of(frame)), WireError);  // extents without the flag
}

TEST(Wire, ASubmitCannotSendInputsBothWays) {
  Submit s{"vector_add", {}, 0, {16, 16}, {{0, 16}}, {}};
  auto frame = frame_prefix(FrameType::submit, 5, s, 32, flags_of(s));
  try {
    decode_submit(meta_of(frame), kFlagShared);
    FAIL() << "accepted";
  } catch (const WireError& e) {
    EXPECT_NE(std::string(e.what()).find("not both"), std::string::npos) << e.what();
  }
}

TEST(Wire, RingsAreGrantedWithTheirOffsetOnlyBesideSharedMemory) {
  HelloOk ok{3, 2, "B", "vm-three", 65536, 16 << 20, "/dev/shm/vgpu/vm3", (16u << 20) - 135168};
  EXPECT_EQ(flags_of(ok), kFlagShared | kFlagRings);
  auto frame = frame_prefix(FrameType::hello_ok, 1, ok, 0, flags_of(ok));
  auto h = decode_header(header_of(frame), 1 << 20);
  auto m = decode_hello_ok(meta_of(frame), h.flags);
  ASSERT_TRUE(m.rings_offset.has_value());
  EXPECT_EQ(*m.rings_offset, (16u << 20) - 135168);
  // Read as a grant of shared memory alone, the offset is a field nobody asked for.
  EXPECT_THROW(decode_hello_ok(meta_of(frame), kFlagShared), WireError);
  // No shared memory, no rings: the offset is not even sent.
  ok.shared_bytes = 0;
  EXPECT_EQ(flags_of(ok), 0);
}

TEST(Wire, NudgeIsAFrameWithoutMetadata) {
  auto f = empty_frame(FrameType::nudge, 0);
  auto h = decode_header(header_of(f), 1024);
  EXPECT_EQ(h.type, FrameType::nudge);
  EXPECT_EQ(h.meta_len, 0u);
  f[5] = 10;
  expect_header_error(f, 1024, "unknown frame type 10");
}
