// Rings in shared memory (docs/protocol.md, "Rings"): a real mediator, a real region file, the
// guest library on the other side. Whether a frame went through a ring is read from the ring's
// own head in the region, as the mediator and the client see it.
#include <gtest/gtest.h>

#include <thread>

#include "client.hpp"
#include "mediator_process.hpp"
#include "shared_memory_helpers.hpp"
#include "vgpu/protocol/ring.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
using namespace vgpu::testing;
using namespace std::chrono_literals;
namespace ops = sdk::ops;

namespace {

// The tcp transport with regions of 4 MiB, polling for `poll_us` (0: never).
std::string transport_settings(const ShmDir& shm, unsigned poll_us) {
  return shm.tcp_settings(4) + "    busy_poll_us: " + std::to_string(poll_us) + "\n";
}

// Bytes ever published into the client's submit and result rings.
struct RingHeads {
  std::uint64_t submitted = 0, resulted = 0;
};
RingHeads heads_of(const guest::Client& c) {
  std::uint8_t* rings = c.shared_memory().data() + *c.identity().rings_offset;
  return {wire::submit_ring(rings).head().load(), wire::result_ring(rings).head().load()};
}

// A mediator for one high VM, a1, whose transport grants rings and polls them for 2 ms; one
// cpu worker, so a job waits behind a running one.
struct OneVmWithRings {
  ShmDir shm;
  MediatorProcess m{{{"a1", "A", "high"}}, "", "strict_priority", 1, transport_settings(shm, 2000)};
};

// The smallest RESULT frame: header, status, empty message, four u64, no buffers.
constexpr std::uint64_t kMinResultFrame = wire::kHeaderSize + 2 + 2 + 4 * 8 + 2;

std::vector<float> expected_sum(std::size_t n, std::uint64_t seed) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i)
    v[i] = ops::generated_value(seed, 0, i) + ops::generated_value(seed, 1, i);
  return v;
}

// Runs vector_add jobs through the rings, each output in its own place, in rounds with pauses
// past every polling window; checks every value and that every frame used the rings.
void expect_jobs_through_rings(guest::Client& c) {
  const auto before = heads_of(c);
  const std::size_t n = 1000;
  int jobs = 0;
  for (int round = 0; round < 4; ++round) {
    std::map<std::uint64_t, std::uint64_t> seeds;  // tag -> seed, pipelined
    for (std::uint64_t j = 0; j < 8; ++j) {
      const std::uint64_t seed = round * 8 + j + 1;
      const auto tag =
          c.submit_shared("vector_add", {{"n", std::to_string(n)}, {"seed", std::to_string(seed)}},
                          {}, {{j * n * sizeof(float), n * sizeof(float)}});
      seeds[tag] = seed;
      ++jobs;
    }
    for (std::size_t k = 0; k < seeds.size(); ++k) {
      auto r = c.next_result();
      ASSERT_TRUE(seeds.count(r.tag)) << r.tag;
      ASSERT_EQ(shared_floats(r), expected_sum(n, seeds[r.tag]));
    }
    std::this_thread::sleep_for(30ms);  // every side goes back to sleep
  }
  const auto after = heads_of(c);
  EXPECT_GT(after.submitted - before.submitted, jobs * wire::kHeaderSize);
  EXPECT_GE(after.resulted - before.resulted, jobs * kMinResultFrame);
}

}  // namespace

TEST(RingIntegration, JobsGoThroughTheRingsWhileBothSidesPoll) {
  ShmDir shm;
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1, transport_settings(shm, 20000),
                    "  - plugin: cpu\n    workers: 2\n    busy_poll_us: 20000\n");
  auto c = connect_shared(m, "a1", true);
  ASSERT_TRUE(c.identity().rings_offset.has_value());
  EXPECT_FALSE(c.uses_rings()) << "not before the memory is mapped";
  const auto data = c.map_shared_memory();
  ASSERT_TRUE(c.uses_rings());
  EXPECT_EQ(data.size(), *c.identity().rings_offset) << "the rings are not the client's data";
  EXPECT_EQ(heads_of(c).submitted, 0u) << "the mediator emptied the rings";
  c.set_spin_wait(20ms);
  expect_jobs_through_rings(c);
  // A job with inline outputs still works: its RESULT carries data, so it takes the socket.
  auto inline_result = c.run("vector_add", {{"n", "10"}, {"seed", "3"}});
  ASSERT_EQ(inline_result.outputs.size(), 1u);
  EXPECT_EQ(ops::to_floats(inline_result.outputs[0]), expected_sum(10, 3));
}

TEST(RingIntegration, WithoutPollingEveryFrameComesWithANudge) {
  // No polling anywhere: the mediator's I/O thread sleeps, so the client nudges it for every
  // frame, and the client sleeps on its socket, so the mediator nudges back.
  ShmDir shm;
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1, transport_settings(shm, 0));
  auto c = connect_shared(m, "a1", true);
  c.map_shared_memory();
  ASSERT_TRUE(c.uses_rings());
  expect_jobs_through_rings(c);
  EXPECT_EQ(c.run("noop", {}).status, sdk::Status::ok);
}

TEST(RingIntegration, CancelTravelsTheRingToo) {
  OneVmWithRings vm;
  auto& m = vm.m;
  auto c = connect_shared(m, "a1", true);
  c.map_shared_memory();
  const auto running = c.submit("spin", {{"us", "300000"}});
  ASSERT_TRUE(eventually(
      [&] { return m.stats()["vms"].dump().find("\"running\":1") != std::string::npos; }));
  const auto queued = c.submit("spin", {{"us", "1000"}});
  c.cancel(queued);
  auto first = c.next_result();
  EXPECT_EQ(first.tag, queued);
  EXPECT_EQ(first.status, sdk::Status::cancelled);
  auto second = c.next_result();
  EXPECT_EQ(second.tag, running);
  EXPECT_EQ(second.status, sdk::Status::ok);
}

TEST(RingIntegration, AnArrivedResultIsSeenInTheRingWithoutWaiting) {
  OneVmWithRings vm;
  auto& m = vm.m;
  auto c = connect_shared(m, "a1", true);
  c.map_shared_memory();
  ASSERT_TRUE(c.uses_rings());
  const auto before = heads_of(c);
  const auto spin = c.submit("spin", {{"us", "200000"}});
  const auto noop = c.submit("noop", {});
  EXPECT_FALSE(c.result_arrived(noop)) << "it waits behind a 200 ms spin";
  ASSERT_TRUE(eventually([&] { return c.result_arrived(noop); }));
  EXPECT_GE(heads_of(c).resulted - before.resulted, 2 * kMinResultFrame)
      << "both results came through the ring";
  EXPECT_EQ(c.wait_for(noop).status, sdk::Status::ok);
  EXPECT_EQ(c.wait_for(spin).status, sdk::Status::ok);
}

TEST(RingIntegration, OneConnectionOfAVmHoldsTheRingsAtATime) {
  OneVmWithRings vm;
  auto& m = vm.m;
  std::optional<guest::Client> first = connect_shared(m, "a1", true);
  ASSERT_TRUE(first->identity().rings_offset.has_value());
  // The second gets the region, and the socket alone.
  auto second = connect_shared(m, "a1", true);
  EXPECT_EQ(second.identity().shared_bytes, 4u << 20);
  EXPECT_FALSE(second.identity().rings_offset.has_value());
  second.map_shared_memory();
  EXPECT_FALSE(second.uses_rings());
  EXPECT_EQ(
      shared_floats(second.run_shared("vector_add", {{"n", "4"}, {"seed", "5"}}, {}, {{0, 16}})),
      expected_sum(4, 5));
  // The second may not place data where the first's rings are (it once could: only the
  // connection holding the rings checked for them).
  const std::uint64_t rings = *first->identity().rings_offset;
  auto r = second.run_shared("vector_add", {{"n", "100"}}, {}, {{rings, 400}});
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  EXPECT_NE(r.message.find("overlaps the rings"), std::string::npos) << r.message;
  // Once the first is gone, the next connection gets them.
  first.reset();
  EXPECT_TRUE(eventually(
      [&] { return connect_shared(m, "a1", true).identity().rings_offset.has_value(); }));
}

TEST(RingIntegration, DataPlacedOnTheRingsIsRefusedAndTheConnectionStays) {
  OneVmWithRings vm;
  auto& m = vm.m;
  auto c = connect_shared(m, "a1", true);
  const auto data = c.map_shared_memory();
  const std::uint64_t rings = *c.identity().rings_offset;
  auto r = c.run_shared("vector_add", {{"n", "100"}}, {}, {{rings - 200, 400}});
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  EXPECT_NE(r.message.find("shared output 0 (offset " + std::to_string(rings - 200) +
                           ", 400 bytes) overlaps the rings"),
            std::string::npos)
      << r.message;
  // Right up to the rings is fine.
  auto fits = c.run_shared("vector_add", {{"n", "100"}, {"seed", "6"}}, {}, {{rings - 400, 400}});
  EXPECT_EQ(shared_floats(fits), expected_sum(100, 6));
  EXPECT_EQ(fits.shared_outputs[0].data(), data.data() + rings - 400);
}

TEST(RingIntegration, ACorruptSubmitRingClosesOnlyThatConnection) {
  ShmDir shm;
  MediatorProcess m({{"a1", "A", "high"}, {"b1", "B", "low"}}, "", "strict_priority", 1,
                    transport_settings(shm, 2000));
  auto bad = connect_shared(m, "a1", true);
  bad.map_shared_memory();
  auto good = connect_shared(m, "b1", true);
  good.map_shared_memory();
  // The guest scribbles over its ring's head, and nudges in case nobody polls.
  std::uint8_t* rings = bad.shared_memory().data() + *bad.identity().rings_offset;
  wire::submit_ring(rings).head().store(1'000'000);
  bad.send_raw(wire::empty_frame(wire::FrameType::nudge, 0));
  const auto msg = refusal([&] { bad.next_result(); });
  EXPECT_NE(msg.find("the submit ring: its head (1000000)"), std::string::npos) << msg;
  EXPECT_EQ(
      shared_floats(good.run_shared("vector_add", {{"n", "4"}, {"seed", "7"}}, {}, {{0, 16}})),
      expected_sum(4, 7))
      << "others carry on";
  EXPECT_TRUE(m.running());
  // The VM's rings are free again for its next connection.
  EXPECT_TRUE(eventually(
      [&] { return connect_shared(m, "a1", true).identity().rings_offset.has_value(); }));
}

TEST(RingIntegration, AClientThatNeverMapsItsMemoryGetsItsResultsOnTheSocket) {
  // Granted rings but never mapped (map_shared_memory not called): the client cannot read the
  // result ring, so the mediator must not put its results there.
  OneVmWithRings vm;
  auto& m = vm.m;
  auto c = connect_shared(m, "a1", true);
  ASSERT_TRUE(c.identity().rings_offset.has_value());
  EXPECT_FALSE(c.uses_rings());
  EXPECT_EQ(c.run("noop", {}).status, sdk::Status::ok);
  EXPECT_EQ(c.run("spin", {{"us", "100"}}).status, sdk::Status::ok);
}
