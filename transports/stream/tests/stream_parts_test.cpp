// The stream transports' parts that need no socket peer: the HELLO failure budget, the per-VM
// byte ledger, and an outgoing frame's bookkeeping and non-blocking write. Whole sessions are
// tested against a real mediator (tests/integration: tcp, vsock, ring, hardening) and fuzzed
// (tests/fuzz/stream_session_fuzz.cpp).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/stat.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "auth_throttle.hpp"
#include "byte_ledger.hpp"
#include "guarded.hpp"
#include "outgoing_frame.hpp"
#include "shared_regions.hpp"

using namespace vgpu::transports;
using namespace std::chrono_literals;

TEST(AuthThrottle, AFewFailuresFreeThenDoublingWaitsUpToTheMaximum) {
  AuthThrottle t(3, 4000ms);
  const auto now = AuthThrottle::Clock::now();
  t.failed("10.0.0.1/vm1", now);
  t.failed("10.0.0.1/vm1", now);
  EXPECT_EQ(t.wait_for("10.0.0.1/vm1", now), 0ms);
  t.failed("10.0.0.1/vm1", now);
  EXPECT_EQ(t.wait_for("10.0.0.1/vm1", now), 1000ms);
  t.failed("10.0.0.1/vm1", now);
  EXPECT_EQ(t.wait_for("10.0.0.1/vm1", now), 2000ms);
  for (int i = 0; i < 10; ++i) t.failed("10.0.0.1/vm1", now);
  EXPECT_EQ(t.wait_for("10.0.0.1/vm1", now), 4000ms);
  EXPECT_EQ(t.wait_for("10.0.0.1/vm2", now), 0ms) << "another VM behind the address is not held";
  t.succeeded("10.0.0.1/vm1");
  EXPECT_EQ(t.wait_for("10.0.0.1/vm1", now), 0ms);
}

TEST(ByteLedger, RefusesPastEitherLimitAndGivesBack) {
  ByteLedger l(100, 150);
  EXPECT_TRUE(l.try_take(1, 100));
  EXPECT_FALSE(l.try_take(1, 1)) << "per-VM limit";
  EXPECT_TRUE(l.try_take(2, 50));
  EXPECT_FALSE(l.try_take(3, 1)) << "total limit";
  l.give_back(1, 60);
  EXPECT_TRUE(l.try_take(3, 10));
  EXPECT_EQ(l.held(1), 40u);
  EXPECT_EQ(l.total(), 100u);
}

TEST(OutgoingFrame, UnsentSkipsWhatWasWrittenAcrossBuffers) {
  OutgoingFrame f{{1, 2, 3}, {{4, 5}, {6, 7, 8}}};
  EXPECT_EQ(f.total_bytes(), 8u);
  f.sent = 4;  // the prefix and the first byte of the first buffer
  const auto left = f.unsent();
  ASSERT_EQ(left.size(), 2u);
  EXPECT_EQ(left[0].size(), 1u);
  EXPECT_EQ(*static_cast<const std::uint8_t*>(left[0].data()), 5);
  EXPECT_EQ(left[1].size(), 3u);
  f.sent = 8;
  EXPECT_TRUE(f.unsent().empty());
}

TEST(OutgoingFrame, WritesWhatTheSocketTakesAndStopsWhenFull) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  int small = 4096;
  ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  OutgoingFrame whole{{1, 2, 3}, {std::vector<std::uint8_t>(100, 9)}};
  EXPECT_TRUE(whole.write_without_blocking(fds[0]));
  std::vector<std::uint8_t> got(103);
  ASSERT_EQ(::read(fds[1], got.data(), got.size()), 103);
  EXPECT_EQ(got[2], 3);
  EXPECT_EQ(got[102], 9);
  // Far more than the socket holds: part goes, the rest is left for an asynchronous write.
  OutgoingFrame big{{0}, {std::vector<std::uint8_t>(8 << 20, 1)}};
  EXPECT_FALSE(big.write_without_blocking(fds[0]));
  EXPECT_GT(big.sent, 0u);
  EXPECT_LT(big.sent, big.total_bytes());
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(Guarded, EveryAccessHoldsTheLock) {
  struct Counts {
    long a = 0, b = 0;  // kept equal by every holder
  };
  Guarded<Counts> counts;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        auto c = counts.lock();
        ++c->a;
        ++c->b;
      }
    });
  for (auto& t : threads) t.join();
  auto c = counts.lock();
  EXPECT_EQ(c->a, 80000);
  EXPECT_EQ(c->b, 80000);
}

TEST(SharedRegions, ARegionTheMediatorCreatesIsGroupReadWriteWhateverTheUmask) {
  // Under the packaged unit (UMask=0027) a file created with 0660 would lose the group's write
  // bit, and a QEMU in the folder's group could not map the VM's memory.
  const auto dir =
      std::filesystem::temp_directory_path() / ("vgpu-shm-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const mode_t old_umask = ::umask(0027);
  {
    SharedRegions regions({dir, 1 << 16});
    regions.prepare();
    auto region = regions.for_vm(7);
    EXPECT_EQ(region->size(), 1u << 16);
  }
  ::umask(old_umask);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "vm7").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  std::filesystem::remove_all(dir);
}
