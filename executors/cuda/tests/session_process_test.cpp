// The executor's side of a remote CUDA session process (vgpu-cuda-session, found beside this
// test in the build tree), on any machine: the process starts, answers, says why it cannot open
// a session without a CUDA driver, and goes away with its executor.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "session_process.hpp"

using namespace vgpu::executors::cuda::remote;
using namespace std::chrono_literals;

namespace {

std::string text(const Reply& r) {
  return {r.body.begin(), r.body.end()};
}

TEST(SessionProcess, ABatchBeforeOpenIsRefused) {
  SessionProcess p(session_program(""), 0, 1, 0, 0us);
  auto reply = p.ask(SessionRequest::calls, 0, {});
  ASSERT_TRUE(reply) << p.ended();
  EXPECT_EQ(reply->outcome, Outcome::failed);
  EXPECT_EQ(text(*reply), "no session opened");
}

TEST(SessionProcess, OpeningWithoutAUsableGpuSaysWhy) {
  SessionProcess p(session_program(""), 0, 1, 0, 1000us);
  auto reply = p.ask(SessionRequest::open);
  ASSERT_TRUE(reply) << p.ended();
  if (reply->outcome == Outcome::ok) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_EQ(reply->outcome, Outcome::failed);
  EXPECT_NE(text(*reply).find("CUDA"), std::string::npos) << text(*reply);
  // The process serves on after a failed open.
  EXPECT_TRUE(p.ask(SessionRequest::calls, 0, {}));
}

TEST(SessionProcess, CloseEndsTheProcess) {
  SessionProcess p(session_program(""), 0, 1, 0, 0us);
  auto reply = p.ask(SessionRequest::close);
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->outcome, Outcome::ok);
  EXPECT_FALSE(p.ask(SessionRequest::calls, 0, {})) << "nobody answers after close";
  for (int i = 0; i < 100 && p.ended().find("exited") == std::string::npos; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(p.ended(), "the session process exited with status 0");
}

// `fd` moved to the lowest free number at or above `floor`, without close-on-exec.
int moved_above(int fd, int floor) {
  const int moved = ::fcntl(fd, F_DUPFD, floor);
  ::close(fd);
  return moved;
}

// A session process holds nothing of the executor's but its channel: a descriptor open without
// close-on-exec when it starts (another session's channel, the worker's own channel to the
// mediator) must not live on there, keeping its peer from ever seeing the end.
TEST(SessionProcess, TheProcessInheritsNothingButItsChannel) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);  // no close-on-exec, on purpose
  // Above the numbers the child's own descriptors take, which would replace it there.
  for (int& fd : pair) fd = moved_above(fd, 20);
  SessionProcess p(session_program(""), 0, 1, 0, 0us);
  ASSERT_TRUE(p.ask(SessionRequest::calls, 0, {})) << "the process runs: " << p.ended();
  ::close(pair[0]);
  pollfd end{pair[1], POLLIN, 0};
  char byte;
  if (::poll(&end, 1, 5000) == 1)
    EXPECT_EQ(::read(pair[1], &byte, 1), 0) << "the end of the stream";
  else
    ADD_FAILURE() << "the other end stayed open: the session process holds it";
  ::close(pair[1]);
}

TEST(SessionProcess, ADeadProcessIsReportedWithItsSignal) {
  SessionProcess p(session_program(""), 0, 1, 0, 0us);
  ASSERT_EQ(::kill(p.pid(), SIGKILL), 0);
  EXPECT_FALSE(p.ask(SessionRequest::calls, 0, {}));
  for (int i = 0; i < 100 && p.ended().find("signal") == std::string::npos; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(p.ended(), "the session process died of signal 9");
}

TEST(SessionProcess, ARequestPastItsLimitKillsTheProcessAndSaysWhy) {
  // `sleep` stands in for a session process stuck in a kernel: it never answers.
  SessionProcess p("sleep", 0, 1, 0, 0us);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(p.ask(SessionRequest::open, 0, {}, 300ms));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_NE(p.ended().find("ran longer than"), std::string::npos) << p.ended();
  for (int i = 0; i < 100 && ::kill(p.pid(), 0) == 0; ++i) {
    int status = 0;
    ::waitpid(p.pid(), &status, WNOHANG);
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_NE(::kill(p.pid(), 0), 0) << "the stuck process was killed";
}

TEST(SessionProcess, AMissingProgramIsNamed) {
  try {
    SessionProcess p("/nonexistent/vgpu-cuda-session", 0, 1, 0, 0us);
    FAIL() << "started a program that does not exist";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/vgpu-cuda-session"), std::string::npos)
        << e.what();
  }
}

TEST(PoolProcess, EachSessionOfASharedPoolHasItsOwnChannel) {
  auto pool = std::make_shared<PoolProcess>(session_program(""), 0, 0us);
  SessionProcess a(pool, 2, 0, 0us), b(pool, 0, 0, 0us);
  EXPECT_EQ(a.pid(), b.pid()) << "one process for the pool";
  for (auto* s : {&a, &b}) {
    auto reply = s->ask(SessionRequest::calls, 0, {});
    ASSERT_TRUE(reply) << s->ended();
    EXPECT_EQ(text(*reply), "no session opened");
  }
  auto closed = a.ask(SessionRequest::close);
  ASSERT_TRUE(closed);
  EXPECT_FALSE(a.ask(SessionRequest::calls, 0, {})) << "a closed session's channel is gone";
  EXPECT_TRUE(b.ask(SessionRequest::calls, 0, {})) << "the pool's other session serves on";
}

TEST(PoolProcess, WithoutAUsableGpuEverySessionSaysWhy) {
  auto pool = std::make_shared<PoolProcess>(session_program(""), 0, 0us);
  SessionProcess a(pool, 1, 0, 0us);
  auto reply = a.ask(SessionRequest::open);
  ASSERT_TRUE(reply) << a.ended();
  if (reply->outcome == Outcome::ok) GTEST_SKIP() << "this machine has a GPU";
  EXPECT_NE(text(*reply).find("CUDA"), std::string::npos) << text(*reply);
}

TEST(PoolProcess, ThePoolsProcessEndsWithItsExecutor) {
  pid_t pid = 0;
  {
    PoolProcess pool(session_program(""), 0, 0us);
    pid = pool.pid();
    ASSERT_EQ(::kill(pid, 0), 0);
  }
  EXPECT_NE(::kill(pid, 0), 0) << "reaped when the executor let it go";
}

}  // namespace
