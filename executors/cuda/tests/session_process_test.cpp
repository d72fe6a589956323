// The executor's side of a remote CUDA session process (vgpu-cuda-session, found beside this
// test in the build tree), on any machine: the process starts, answers, says why it cannot open
// a session without a CUDA driver, and goes away with its executor.
#include <gtest/gtest.h>
#include <signal.h>

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

TEST(SessionProcess, ADeadProcessIsReportedWithItsSignal) {
  SessionProcess p(session_program(""), 0, 1, 0, 0us);
  ASSERT_EQ(::kill(p.pid(), SIGKILL), 0);
  EXPECT_FALSE(p.ask(SessionRequest::calls, 0, {}));
  for (int i = 0; i < 100 && p.ended().find("signal") == std::string::npos; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(p.ended(), "the session process died of signal 9");
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

}  // namespace
