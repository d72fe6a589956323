#include "vgpu/protocol/ring.hpp"

#include <gtest/gtest.h>

#include <thread>

using namespace vgpu::wire;

namespace {

// Two rings in ordinary memory, aligned as in a region: the ring code needs only bytes.
struct Rings {
  Rings() : bytes(kRingsBytes + 64) {
    base = bytes.data() + (64 - reinterpret_cast<std::uintptr_t>(bytes.data()) % 64) % 64;
    submit_ring(base).reset();
    result_ring(base).reset();
  }
  std::vector<std::uint8_t> bytes;
  std::uint8_t* base = nullptr;
};

// A CANCEL-sized frame, or a SUBMIT whose op name pads it to about `size` bytes.
std::vector<std::uint8_t> frame_of(std::uint64_t tag, std::size_t size) {
  if (size < kHeaderSize + 16) return empty_frame(FrameType::cancel, tag);
  Submit s{std::string(size - kHeaderSize - 12, 'x'), {}, 0, {}, {}, {}};
  return frame_prefix(FrameType::submit, tag, s);
}

void expect_ring_error(RingReader& reader, const std::string& needle) {
  std::vector<std::uint8_t> frame;
  FrameHeader h;
  try {
    reader.try_pop(frame, h);
    FAIL() << "expected an error containing '" << needle << "'";
  } catch (const WireError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("submit ring"), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(Ring, FramesArriveWholeAndInOrderAcrossTheWrap) {
  Rings rings;
  RingWriter writer(submit_ring(rings.base));
  RingReader reader(submit_ring(rings.base), "submit ring");
  std::vector<std::uint8_t> frame;
  FrameHeader h;
  EXPECT_FALSE(reader.try_pop(frame, h));
  // Sizes that do not divide the capacity, so frames straddle its end many times.
  std::size_t passed = 0;
  for (std::uint64_t tag = 1; passed < 5 * kRingDataBytes; ++tag) {
    const auto sent = frame_of(tag, 24 + (tag * 997) % 3000);
    ASSERT_TRUE(writer.try_push(sent));
    ASSERT_TRUE(reader.try_pop(frame, h));
    EXPECT_EQ(frame, sent);
    EXPECT_EQ(h.tag, tag);
    passed += sent.size();
  }
  EXPECT_TRUE(reader.empty());
}

TEST(Ring, AFullRingRefusesAFrameUntilTheConsumerMakesRoom) {
  Rings rings;
  RingWriter writer(submit_ring(rings.base));
  RingReader reader(submit_ring(rings.base), "submit ring");
  const auto big = frame_of(1, 4096);
  std::size_t pushed = 0;
  while (writer.try_push(big)) ++pushed;
  EXPECT_EQ(pushed, kRingDataBytes / big.size());
  std::vector<std::uint8_t> frame;
  FrameHeader h;
  ASSERT_TRUE(reader.try_pop(frame, h));
  EXPECT_TRUE(writer.try_push(big));  // one frame's room again
  EXPECT_FALSE(writer.try_push(std::vector<std::uint8_t>(kRingDataBytes + 1)));
}

TEST(Ring, AHeadTooFarAheadIsAnErrorNamingTheRing) {
  Rings rings;
  RingReader reader(submit_ring(rings.base), "submit ring");
  submit_ring(rings.base).head().store(kRingDataBytes + 1);
  expect_ring_error(reader, "not a whole frame");
  submit_ring(rings.base).head().store(10);  // less than a header
  expect_ring_error(reader, "not a whole frame");
}

TEST(Ring, GarbageOrAFrameWithDataIsRefused) {
  Rings rings;
  RingMemory memory = submit_ring(rings.base);
  RingReader reader(memory, "submit ring");
  std::vector<std::uint8_t> junk(64, 0xAB);
  memory.write(0, junk);
  memory.head().store(junk.size());
  expect_ring_error(reader, "bad magic");

  Rings again;
  RingMemory fresh = submit_ring(again.base);
  RingReader second(fresh, "submit ring");
  auto with_data = frame_prefix(FrameType::submit, 1, Submit{"noop", {}, 0, {4}, {}, {}}, 4);
  with_data.resize(with_data.size() + 4);
  fresh.write(0, with_data);
  fresh.head().store(with_data.size());
  expect_ring_error(second, "no data section");
}

TEST(Ring, AFrameLongerThanWhatWasPublishedIsRefused) {
  Rings rings;
  RingMemory memory = submit_ring(rings.base);
  RingReader reader(memory, "submit ring");
  const auto f = frame_of(1, 200);
  memory.write(0, f);
  memory.head().store(100);  // the producer claims only part of it
  expect_ring_error(reader, "only 100 are published");
}

TEST(Ring, AnImpossibleTailSendsTheWriterToTheSocket) {
  Rings rings;
  RingWriter writer(result_ring(rings.base));
  result_ring(rings.base).tail().store(12345);  // past anything written
  EXPECT_FALSE(writer.try_push(frame_of(1, 24)));
}

TEST(Ring, TheWriterSeesWhetherTheConsumerSleeps) {
  Rings rings;
  RingWriter writer(result_ring(rings.base));
  RingReader reader(result_ring(rings.base), "result ring");
  EXPECT_TRUE(writer.consumer_sleeps());  // reset: nobody polls yet
  reader.set_sleeping(false);
  EXPECT_FALSE(writer.consumer_sleeps());
  reader.set_sleeping(true);
  EXPECT_TRUE(writer.consumer_sleeps());
}

TEST(Ring, AProducerAndAConsumerThreadPassEveryFrameOnce) {
  Rings rings;
  RingWriter writer(submit_ring(rings.base));
  RingReader reader(submit_ring(rings.base), "submit ring");
  constexpr std::uint64_t kFrames = 20000;
  std::thread producer([&] {
    for (std::uint64_t tag = 1; tag <= kFrames;) {
      if (writer.try_push(frame_of(tag, 24 + tag % 300))) ++tag;
    }
  });
  std::vector<std::uint8_t> frame;
  FrameHeader h;
  for (std::uint64_t expected = 1; expected <= kFrames;) {
    if (!reader.try_pop(frame, h)) continue;
    ASSERT_EQ(h.tag, expected);
    ASSERT_EQ(frame, frame_of(expected, 24 + expected % 300));
    ++expected;
  }
  producer.join();
}

TEST(Ring, TheRingsSitAtTheEndOfARegionOfAtLeastOneMebibyte) {
  EXPECT_FALSE(rings_offset_for(512 * 1024).has_value());
  const auto off = rings_offset_for(256u << 20);
  ASSERT_TRUE(off.has_value());
  EXPECT_EQ(*off % 4096, 0u);
  EXPECT_LE(*off + kRingsBytes, 256u << 20);
  EXPECT_GT(*off + kRingsBytes + 4096, 256u << 20);
  EXPECT_TRUE(overlaps_rings(*off - 10, 11, *off));
  EXPECT_FALSE(overlaps_rings(*off - 10, 10, *off));
  EXPECT_TRUE(overlaps_rings(*off + kRingsBytes - 1, 100, *off));
  EXPECT_FALSE(overlaps_rings(*off + kRingsBytes, 100, *off));
  EXPECT_FALSE(overlaps_rings(*off, 0, *off));
}
