// The messages between the mediator and an executor worker process: everything a job and a
// result carry survives the trip, over a real socketpair; truncated input is an error.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "isolation/worker_protocol.hpp"

namespace vgpu::core::isolation {
namespace {

TEST(WorkerProtocol, AJobKeepsEveryField) {
  sdk::Job job;
  job.id = 77;
  job.client_tag = 9;
  job.tenant = {12, "research", 2, 1.5, 3.0, 64u << 20};
  job.op = "saxpy";
  job.params = {{"n", "5"}, {"alpha", "2.5"}};
  job.inputs = {sdk::Buffer{1, 2, 3}, sdk::Buffer{}};
  job.deadline = sdk::Clock::now() + std::chrono::seconds(3);
  job.enqueued_at = sdk::Clock::now();
  const auto back = decode_job(encode(job));
  EXPECT_EQ(back->id, 77u);
  EXPECT_EQ(back->client_tag, 9u);
  EXPECT_EQ(back->tenant.vm_id, 12u);
  EXPECT_EQ(back->tenant.pool, "research");
  EXPECT_EQ(back->tenant.priority, 2);
  EXPECT_EQ(back->tenant.weight, 1.5);
  EXPECT_EQ(back->tenant.pool_weight, 3.0);
  EXPECT_EQ(back->tenant.memory_quota_bytes, 64u << 20);
  EXPECT_EQ(back->op, "saxpy");
  ASSERT_EQ(back->params.size(), 2u);
  EXPECT_EQ(back->params[1].key, "alpha");
  EXPECT_EQ(back->params[1].value, "2.5");
  EXPECT_EQ(back->inputs, job.inputs);
  EXPECT_EQ(back->deadline, job.deadline);
  EXPECT_EQ(back->enqueued_at, job.enqueued_at);
  job.deadline.reset();
  EXPECT_FALSE(decode_job(encode(job))->deadline);
}

TEST(WorkerProtocol, AResultAndTheExecutorInfoKeepEveryField) {
  sdk::JobResult r = sdk::JobResult::failure(sdk::Status::quota_exceeded, "over by 3 MiB");
  r.outputs = {sdk::Buffer(1000, 7)};
  r.usage = {std::chrono::nanoseconds(1234), std::chrono::nanoseconds(567)};
  const auto [id, back] = decode_result(encode(41, r));
  EXPECT_EQ(id, 41u);
  EXPECT_EQ(back.status, sdk::Status::quota_exceeded);
  EXPECT_EQ(back.message, "over by 3 MiB");
  EXPECT_EQ(back.outputs, r.outputs);
  EXPECT_EQ(back.usage.wall.count(), 1234);
  EXPECT_EQ(back.usage.device.count(), 567);

  sdk::ExecutorInfo info{"cuda", 4, {"noop", "gemm"}, "NVIDIA H100", {2, 0, 0}};
  const auto i = decode_info(encode(info));
  EXPECT_EQ(i.name, "cuda");
  EXPECT_EQ(i.slots, 4u);
  EXPECT_EQ(i.ops, info.ops);
  EXPECT_EQ(i.device, "NVIDIA H100");
  EXPECT_EQ(i.max_in_flight, info.max_in_flight);
}

TEST(WorkerProtocol, TruncatedPayloadsAreErrorsNotCrashes) {
  sdk::Job job;
  job.op = "vector_add";
  job.inputs = {sdk::Buffer(100, 1)};
  const auto whole = encode(job);
  for (std::size_t cut : {std::size_t(0), std::size_t(5), whole.size() / 2, whole.size() - 1})
    EXPECT_THROW(decode_job(whole.substr(0, cut)), ProtocolError) << cut;
}

TEST(WorkerProtocol, MessagesCrossASocketpairWhole) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  Channel parent(fds[0]);
  auto child = std::make_unique<Channel>(fds[1]);
  const std::string big(8u << 20, 'x');  // larger than the socket buffer: needs a reader
  std::thread writer([&] {
    EXPECT_TRUE(child->send(MessageType::result, big));
    EXPECT_TRUE(child->send(MessageType::lost, "gone"));
    child.reset();  // closes: the reader sees the end
  });
  auto first = parent.receive();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->type, MessageType::result);
  EXPECT_EQ(first->payload.size(), big.size());
  auto second = parent.receive();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->payload, "gone");
  writer.join();
  EXPECT_FALSE(parent.receive()) << "end of stream";
  EXPECT_FALSE(parent.send(MessageType::job, "x")) << "the other side is gone";
}

// A message goes out in one system call, and messages that arrived together come in with one:
// a job costs each side one system call, and a reader never finds a header without its payload.
TEST(WorkerProtocol, AMessageIsOneSendAndMessagesThatCameTogetherAreOneRead) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  Channel parent(fds[0]);
  Channel child(fds[1]);
  ASSERT_TRUE(child.send(MessageType::job, std::string(300, 'j')));
  ASSERT_TRUE(child.send(MessageType::readings_request, ""));
  ASSERT_TRUE(child.send(MessageType::result, "r"));
  EXPECT_EQ(child.sends(), 3u);
  auto job = parent.receive(), ask = parent.receive(), result = parent.receive();
  ASSERT_TRUE(job && ask && result);
  EXPECT_EQ(job->type, MessageType::job);
  EXPECT_EQ(job->payload, std::string(300, 'j'));
  EXPECT_EQ(ask->type, MessageType::readings_request);
  EXPECT_TRUE(ask->payload.empty());
  EXPECT_EQ(result->payload, "r");
  EXPECT_EQ(parent.reads(), 1u);
}

// Bytes can come in any pieces: a header split in two, a payload after a pause, and a
// payload larger than the reader's buffer that follows a small message in the same read.
TEST(WorkerProtocol, MessagesArriveWholeFromAnyPieces) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  Channel parent(fds[0]);
  parent.set_poll(std::chrono::milliseconds(1));
  const int raw = fds[1];
  auto frame = [](MessageType type, const std::string& payload) {
    std::string f(9, '\0');
    const std::uint64_t n = payload.size();
    std::memcpy(f.data(), &n, 8);
    f[8] = static_cast<char>(type);
    return f + payload;
  };
  const std::string big(200 * 1024, 'b');
  std::thread writer([&] {
    const auto first = frame(MessageType::result, "split"), second = frame(MessageType::lost, big);
    const std::string both = first + second;
    std::size_t at = 0;
    for (std::size_t piece : {std::size_t(4), std::size_t(7), std::size_t(100 * 1024)}) {
      const auto n = std::min(piece, both.size() - at);
      ASSERT_EQ(::send(raw, both.data() + at, n, MSG_NOSIGNAL), ssize_t(n));
      at += n;
      std::this_thread::sleep_for(std::chrono::milliseconds(3));  // past the reader's poll
    }
    for (; at < both.size();) {
      const auto n = ::send(raw, both.data() + at, both.size() - at, MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      at += std::size_t(n);
    }
    ::shutdown(raw, SHUT_WR);
  });
  auto first = parent.receive();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->type, MessageType::result);
  EXPECT_EQ(first->payload, "split");
  auto second = parent.receive();
  ASSERT_TRUE(second);
  EXPECT_EQ(second->type, MessageType::lost);
  EXPECT_EQ(second->payload, big);
  EXPECT_FALSE(parent.receive()) << "end of stream";
  writer.join();
  ::close(raw);
}

// A stream that ends inside a header or a payload is an error, not a message or a clean end.
TEST(WorkerProtocol, AStreamCutInsideAMessageIsAnError) {
  for (const std::size_t cut : {std::size_t(5), std::size_t(9 + 2)}) {
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    Channel parent(fds[0]);
    std::string f(9, '\0');
    const std::uint64_t n = 4;
    std::memcpy(f.data(), &n, 8);
    f[8] = static_cast<char>(MessageType::result);
    f += "abcd";
    ASSERT_EQ(::send(fds[1], f.data(), cut, MSG_NOSIGNAL), ssize_t(cut));
    ::close(fds[1]);
    EXPECT_THROW(parent.receive(), ProtocolError) << "cut after " << cut << " bytes";
  }
}

// With polling on, receive() watches the socket before it sleeps: a message that comes within
// the poll, one that comes after it (then read() blocks as without polling) and the end of the
// stream all arrive as without it.
TEST(WorkerProtocol, APollingReceiverGetsWhatASleepingOneGets) {
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
  Channel parent(fds[0]);
  parent.set_poll(std::chrono::milliseconds(20));
  auto child = std::make_unique<Channel>(fds[1]);
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));  // inside the poll
    EXPECT_TRUE(child->send(MessageType::result, "early"));
    std::this_thread::sleep_for(std::chrono::milliseconds(60));  // past it
    EXPECT_TRUE(child->send(MessageType::lost, "late"));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    child.reset();
  });
  auto early = parent.receive();
  ASSERT_TRUE(early);
  EXPECT_EQ(early->payload, "early");
  auto late = parent.receive();
  ASSERT_TRUE(late);
  EXPECT_EQ(late->type, MessageType::lost);
  EXPECT_EQ(late->payload, "late");
  EXPECT_FALSE(parent.receive()) << "end of stream while polling";
  writer.join();
}

TEST(WorkerProtocol, ReadingsKeepEveryFieldAndRefuseHugeCounts) {
  std::vector<sdk::Reading> readings{
      {"device_memory_in_use_bytes", "memory", {{"vm", "7"}}, 4096},
      {"sm_partition_sms", "sms", {{"partition", "pool A"}, {"kind", "green"}}, 64},
      {"context_rebuilds", "rebuilds", {}, 0}};
  const auto back = decode_readings(encode(readings));
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[0].name, "device_memory_in_use_bytes");
  EXPECT_EQ(back[0].labels, readings[0].labels);
  EXPECT_EQ(back[1].labels, readings[1].labels);
  EXPECT_EQ(back[1].value, 64);
  EXPECT_EQ(back[2].help, "rebuilds");
  EXPECT_TRUE(decode_readings(encode(std::vector<sdk::Reading>{})).empty());
  const auto whole = encode(readings);
  for (std::size_t cut : {std::size_t(0), std::size_t(3), whole.size() / 2, whole.size() - 1})
    EXPECT_THROW(decode_readings(whole.substr(0, cut)), ProtocolError) << cut;
  std::string huge(8, '\xff');  // a count of 2^64-1 readings
  EXPECT_THROW(decode_readings(huge), ProtocolError);
}

}  // namespace
}  // namespace vgpu::core::isolation
