// The executor-to-session link (session_link.hpp): messages through the shared mailbox and,
// past its capacity, the socket; a sleeping end woken by the bell; an end that goes; and a
// mailbox whose other end writes what breaks its bounds.
#include "session_link.hpp"

#include "fd_passing.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

using namespace vgpu::executors::cuda::remote;
using namespace std::chrono_literals;

namespace {

struct Ends {
  std::unique_ptr<SessionLink> executor, session;
};

Ends connected(std::size_t capacity = kMailboxCapacity) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  Ends e;
  e.executor = SessionLink::offer(fds[0], capacity);
  e.session = SessionLink::accept(fds[1]);
  EXPECT_TRUE(e.session) << "accept refused a real offer";
  return e;
}

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = std::uint8_t(seed + i * 7);
  return v;
}

// The session's end answers each message with its body reversed and its number plus one, until
// tag 0.
std::thread echo(SessionLink& session, std::chrono::microseconds spin) {
  return std::thread([&session, spin] {
    LinkMessage m;
    while (session.receive(m, spin) == SessionLink::Wait::message && m.tag != 0) {
      std::reverse(m.body.begin(), m.body.end());
      if (!session.send(m.tag, m.number + 1, m.body)) return;
    }
  });
}

void exchange_many(Ends& e, std::chrono::microseconds spin, std::size_t capacity) {
  std::thread other = echo(*e.session, spin);
  for (std::uint64_t i = 0; i < 200; ++i) {
    // Sizes on both sides of the mailbox's capacity, so that bodies on the socket come between
    // rings of the bell.
    const std::size_t size = (i % 3 == 0) ? capacity + 1 + i : i * 5;
    auto body = pattern(size, std::uint8_t(i));
    ASSERT_TRUE(e.executor->send(std::uint8_t(1 + i % 4), i * 10, body));
    LinkMessage reply;
    ASSERT_EQ(e.executor->receive(reply, spin, 10s), SessionLink::Wait::message) << "message " << i;
    EXPECT_EQ(reply.tag, 1 + i % 4);
    EXPECT_EQ(reply.number, i * 10 + 1);
    std::reverse(body.begin(), body.end());
    ASSERT_EQ(reply.body, body) << "message " << i << " of " << size << " bytes";
  }
  ASSERT_TRUE(e.executor->send(0, 0, {}));
  other.join();
}

TEST(SessionLink, MessagesGoBothWaysIntactWhileBothEndsWatch) {
  auto e = connected(4096);
  exchange_many(e, 100'000us, 4096);
}

TEST(SessionLink, MessagesGoBothWaysIntactWhenEachEndSleepsAndIsRung) {
  auto e = connected(4096);
  exchange_many(e, 0us, 4096);
}

TEST(SessionLink, ASleepingEndWakesForAMessageSentLater) {
  auto e = connected();
  std::thread later([&] {
    std::this_thread::sleep_for(50ms);
    const std::uint8_t byte = 42;
    e.session->send(2, 7, {&byte, 1});
  });
  LinkMessage m;
  EXPECT_EQ(e.executor->receive(m, 0us, 10s), SessionLink::Wait::message);
  later.join();
  EXPECT_EQ(m.tag, 2);
  EXPECT_EQ(m.number, 7u);
  EXPECT_EQ(m.body, std::vector<std::uint8_t>{42});
}

TEST(SessionLink, NothingSentEndsTheWaitAtItsLimit) {
  auto e = connected();
  LinkMessage m;
  EXPECT_EQ(e.executor->receive(m, 1000us, 30ms), SessionLink::Wait::timed_out);
  // The link still works after a wait that timed out.
  ASSERT_TRUE(e.session->send(1, 5, {}));
  EXPECT_EQ(e.executor->receive(m, 1000us, 10s), SessionLink::Wait::message);
  EXPECT_EQ(m.number, 5u);
}

TEST(SessionLink, ALimitShorterThanTheWatchEndsTheWatch) {
  auto e = connected();
  LinkMessage m;
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(e.executor->receive(m, 60'000'000us, 50ms), SessionLink::Wait::timed_out);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s) << "watched past the limit";
}

TEST(SessionLink, AnEndThatGoesIsSeenGoneAfterWhatItSentFirst) {
  for (auto spin : {0us, 5'000'000us}) {  // asleep, and watching (which must not wait it out)
    auto e = connected();
    const auto last = pattern(100, 3);
    ASSERT_TRUE(e.session->send(1, 9, last));
    e.session.reset();
    LinkMessage m;
    ASSERT_EQ(e.executor->receive(m, spin, 10s), SessionLink::Wait::message);
    EXPECT_EQ(m.body, last);
    const auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(e.executor->receive(m, spin, 10s), SessionLink::Wait::gone);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 4s) << "the whole watch was waited out";
    EXPECT_FALSE(e.executor->send(1, 0, pattern(kMailboxCapacity + 1, 0)))
        << "a body for the socket has nobody to go to";
  }
}

TEST(SessionLink, AcceptRefusesWhatIsNotAMailbox) {
  {  // bytes without descriptors
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    const char junk[16] = "not a mailbox";
    ASSERT_EQ(::write(fds[0], junk, sizeof junk), ssize_t(sizeof junk));
    EXPECT_EQ(SessionLink::accept(fds[1]), nullptr);
    char byte;
    EXPECT_EQ(::read(fds[0], &byte, 1), 0) << "the refused channel was closed";
    ::close(fds[0]);
  }
  {  // the channel ends before anything comes
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    ::close(fds[0]);
    EXPECT_EQ(SessionLink::accept(fds[1]), nullptr);
  }
}

// A hostile session end: takes the offer by hand and writes the mailbox itself.
struct RawSessionEnd {
  MailboxHeader* header = nullptr;
  std::size_t bytes = 0;
  int channel = -1, bell = -1;

  explicit RawSessionEnd(int fd) : channel(fd) {
    std::uint64_t what[2];
    int handed[2];
    EXPECT_EQ(receive_with_fds(fd, what, sizeof what, handed), ssize_t(sizeof what));
    bytes = kMailboxBodiesAt + 2 * what[1];
    header = static_cast<MailboxHeader*>(
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, handed[0], 0));
    ::close(handed[0]);
    bell = handed[1];
  }
  ~RawSessionEnd() {
    ::munmap(header, bytes);
    ::close(channel);
    ::close(bell);
  }
  void reply(std::uint64_t length, bool on_socket) {
    MailboxLane& lane = header->lanes[1];
    lane.tag.store(1);
    lane.on_socket.store(on_socket);
    lane.length.store(length);
    lane.published.fetch_add(1);
  }
};

TEST(SessionLink, ALengthPastItsBoundIsTheEndNotAnOverrun) {
  for (const bool on_socket : {false, true}) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    auto executor = SessionLink::offer(fds[0], 4096);
    RawSessionEnd hostile(fds[1]);
    ASSERT_NE(hostile.header, MAP_FAILED);
    hostile.reply(on_socket ? kMaxLinkMessageBytes + 1 : 4097, on_socket);
    LinkMessage m;
    EXPECT_EQ(executor->receive(m, 1000us, 10s), SessionLink::Wait::gone)
        << (on_socket ? "on the socket" : "in the mailbox");
    EXPECT_TRUE(m.body.empty());
  }
}

TEST(SessionLink, AMailboxLengthWithinItsBoundIsTakenAsItIs) {
  // The same hand-made end, well-behaved: what the two tests above refuse is the bound alone.
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
  auto executor = SessionLink::offer(fds[0], 4096);
  RawSessionEnd end(fds[1]);
  std::memset(reinterpret_cast<std::uint8_t*>(end.header) + kMailboxBodiesAt + 4096, 0xab, 4096);
  end.reply(4096, false);
  LinkMessage m;
  ASSERT_EQ(executor->receive(m, 1000us, 10s), SessionLink::Wait::message);
  EXPECT_EQ(m.body, std::vector<std::uint8_t>(4096, 0xab));
}

}  // namespace
