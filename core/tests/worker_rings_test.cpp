// The worker channel over shared-memory rings (a real memfd and a real socketpair, both ends in
// this process): small messages cost no socket system call while the reader polls, large ones
// keep their place, a sleeping reader is nudged, nothing left in a ring is lost when the writer
// goes, and a ring whose indices cannot be true is an error.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <thread>

#include "isolation/worker_protocol.hpp"

namespace vgpu::core::isolation {
namespace {

using namespace std::chrono_literals;

struct Pair {
  Pair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    mediator = std::make_unique<Channel>(fds[0]);
    worker = std::make_unique<Channel>(fds[1]);
    rings = WorkerRings::create();
    mediator->use_rings(rings, true);
    worker->use_rings(rings, false);
  }
  std::shared_ptr<WorkerRings> rings;
  std::unique_ptr<Channel> mediator, worker;
};

std::string payload_of(int i, std::size_t size) {
  std::string p(size, char('a' + i % 26));
  p.replace(0, std::min(size, std::to_string(i).size()), std::to_string(i).substr(0, size));
  return p;
}

TEST(WorkerRings, APollingReaderGetsSmallMessagesWithoutASocketCall) {
  Pair pair;
  pair.mediator->set_poll(10s);  // no gap between messages is this long, even on a loaded host
  std::vector<std::string> got;
  std::thread reader([&] {
    for (int i = 0; i < 200; ++i) {
      auto m = pair.mediator->receive();
      ASSERT_TRUE(m);
      EXPECT_EQ(m->type, MessageType::result);
      got.push_back(m->payload);
    }
  });
  // Until the reader polls, its ring's sleeping word is set (and a writer would nudge it).
  for (int i = 0; i < 5000 && pair.rings->to_mediator().sleeping().load() != 0; ++i)
    std::this_thread::sleep_for(1ms);
  ASSERT_EQ(pair.rings->to_mediator().sleeping().load(), 0u) << "the reader never polled";
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE(pair.worker->send(MessageType::result, payload_of(i, 40 + i)));
  reader.join();
  ASSERT_EQ(got.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(got[i], payload_of(i, 40 + i)) << i;
  EXPECT_EQ(pair.worker->sends(), 0u) << "no nudge, no message on the socket";
  EXPECT_EQ(pair.mediator->reads(), 0u);
}

TEST(WorkerRings, LargeMessagesTakeTheSocketAndKeepTheirPlace) {
  Pair pair;
  pair.worker->set_poll(1ms);
  const std::vector<std::size_t> sizes = {
      10, 100 * 1024, 20, kMaxRingPayload, kMaxRingPayload + 1, 3u << 20, 0, 7};
  std::thread writer([&] {
    for (std::size_t i = 0; i < sizes.size(); ++i)
      EXPECT_TRUE(pair.mediator->send(MessageType::job, payload_of(int(i), sizes[i])));
  });
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    auto m = pair.worker->receive();
    ASSERT_TRUE(m) << i;
    EXPECT_EQ(m->type, MessageType::job) << i;
    EXPECT_EQ(m->payload, payload_of(int(i), sizes[i])) << i;
  }
  writer.join();
}

TEST(WorkerRings, ASleepingReaderIsNudgedForEachMessage) {
  Pair pair;  // no poll: the reader sleeps on the socket every time
  std::thread writer([&] {
    for (int i = 0; i < 20; ++i) {
      EXPECT_TRUE(pair.mediator->send(MessageType::job, payload_of(i, 8)));
      std::this_thread::sleep_for(2ms);
    }
  });
  for (int i = 0; i < 20; ++i) {
    auto m = pair.worker->receive();
    ASSERT_TRUE(m) << i;
    EXPECT_EQ(m->payload, payload_of(i, 8));
  }
  writer.join();
  EXPECT_GE(pair.mediator->sends(), 1u) << "a reader asleep was nudged";
}

TEST(WorkerRings, WhatTheWriterLeftInTheRingArrivesBeforeTheEnd) {
  Pair pair;
  ASSERT_TRUE(pair.worker->send(MessageType::lost, "gone"));
  ASSERT_TRUE(pair.worker->send(MessageType::result, "last"));
  pair.worker.reset();  // the worker exits: its socket end closes
  auto lost = pair.mediator->receive(), last = pair.mediator->receive();
  ASSERT_TRUE(lost && last);
  EXPECT_EQ(lost->type, MessageType::lost);
  EXPECT_EQ(last->payload, "last");
  EXPECT_FALSE(pair.mediator->receive()) << "then the end";
}

TEST(WorkerRings, AnImpossibleRingIsAProtocolError) {
  Pair pair;
  auto ring = pair.rings->to_mediator();
  ring.head().store(wire::kRingDataBytes + 1);  // more published than the ring holds
  EXPECT_THROW(pair.mediator->receive(), ProtocolError);
  Pair second;
  auto other = second.rings->to_mediator();
  const std::uint32_t huge = 1u << 30;  // a message length past any ring message
  std::uint8_t header[5];
  std::memcpy(header, &huge, 4);
  header[4] = 6;
  other.write(0, header);
  other.head().store(64);
  EXPECT_THROW(second.mediator->receive(), ProtocolError);
}

}  // namespace
}  // namespace vgpu::core::isolation
