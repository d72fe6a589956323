// The file transport against a stand-in for the core that records what it is given and lets the
// test decide when each job starts and what it returns. The real mediator is in
// tests/integration/file_integration_test.cpp.
#include "file_transport.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstring>
#include <thread>

#include "test_dir.hpp"
#include "vgpu/protocol/spool.hpp"

using namespace vgpu;
using namespace vgpu::transports::file;
using namespace vgpu::transports::file::testing;
using namespace std::chrono_literals;

namespace {

struct NullLog : sdk::Logger {
  void log(sdk::LogLevel, std::string_view) override {}
};
struct NullMetrics : sdk::Metrics {
  void add(std::string_view, double) override {}
};

class RecordingSink : public sdk::Sink {
 public:
  bool refuse_all = false;  // as a DB that does not know the VM
  struct Submitted {
    std::uint32_t vm_id;
    sdk::SubmitRequest request;
    std::shared_ptr<sdk::ReplyChannel> channel;
  };

  sdk::AuthOutcome authenticate(const sdk::PeerIdentity& peer) override {
    sdk::AuthOutcome out;
    if (refuse_all || peer.proof != sdk::PeerIdentity::Proof::vm_id || peer.vm_id != 3) {
      out.status = sdk::Status::unauthenticated;
      out.message = "unknown vm_id " + std::to_string(peer.vm_id);
      return out;
    }
    out.tenant.vm_id = 3;
    out.tenant.pool = "A";
    out.tenant.priority = 2;
    out.vm_name = "web";
    return out;
  }
  void submit(std::uint32_t vm_id, sdk::SubmitRequest request,
              std::shared_ptr<sdk::ReplyChannel> channel) override {
    std::lock_guard lock(mutex_);
    submitted_.push_back({vm_id, std::move(request), std::move(channel)});
    changed_.notify_all();
  }
  void cancel(const sdk::ReplyChannel&, std::uint64_t) override {}
  void disconnected(const sdk::ReplyChannel&) override {}
  std::size_t max_frame_bytes() const override { return 1 << 20; }
  std::vector<std::uint32_t> registered_vms() const override { return {3}; }

  std::size_t count() {
    std::lock_guard lock(mutex_);
    return submitted_.size();
  }
  std::vector<Submitted> wait_for(std::size_t n, std::chrono::milliseconds limit = 5s) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, limit, [&] { return submitted_.size() >= n; });
    return submitted_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Submitted> submitted_;
};

struct Harness {
  TestDir d;
  NullLog log;
  NullMetrics metrics;
  FileTransportSettings settings;
  Harness() {
    settings.root = d.str() + "/vgpu";
    settings.state_dir = settings.root + "/.vgpu-state";
    settings.partial_timeout = 200ms;
  }
  std::unique_ptr<FileTransport> start(RecordingSink& sink, DetectMode mode = DetectMode::inotify) {
    settings.detect = mode;
    auto t = std::make_unique<FileTransport>(settings, log, metrics);
    t->start(sink);
    return t;
  }
  std::filesystem::path vm() const { return d.path() / "vgpu/vm3"; }
  // A spool request written the way the protocol says: a temp name, then a rename.
  void spool(const std::string& name, const spool::Request& r) const {
    write_file(vm() / "requests" / ("." + name + ".tmp"), spool::encode_request(r));
    std::filesystem::rename(vm() / "requests" / ("." + name + ".tmp"),
                            vm() / "requests" / (name + ".req"));
  }
};

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 5000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return pred();
}

sdk::JobResult floats_result(std::vector<float> values) {
  sdk::JobResult r;
  r.outputs.emplace_back(values.size() * sizeof(float));
  std::memcpy(r.outputs[0].data(), values.data(), r.outputs[0].size());
  return r;
}

}  // namespace

class FileTransportModes : public ::testing::TestWithParam<DetectMode> {};

TEST_P(FileTransportModes, CompatRequestRoundTrip) {
  Harness h;
  RecordingSink sink;
  auto t = h.start(sink, GetParam());
  write_file(h.vm() / "request.txt", "A:2:3:VECTOR_ADD n=4\n");
  auto got = sink.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].vm_id, 3u);
  EXPECT_EQ(got[0].request.op, "vector_add");
  ASSERT_EQ(got[0].request.params.size(), 1u);
  EXPECT_EQ(got[0].request.params[0].value, "4");
  EXPECT_FALSE(std::filesystem::exists(h.vm() / "request.txt"));  // claimed
  got[0].channel->started(got[0].request.client_tag);
  got[0].channel->deliver(got[0].request.client_tag, floats_result({1, 2, 3, 4}));
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(h.vm() / "response.txt"); }));
  const auto text = read_file(h.vm() / "response.txt");
  EXPECT_EQ(text.substr(0, 16), "OK vector_add\nre") << text;
  EXPECT_NE(text.find("pool: A\npriority: high\n"), std::string::npos) << text;
  EXPECT_NE(text.find("values: 4\nsum: 10\nfirst: 1 2 3 4\n"), std::string::npos) << text;
  // Answered: nothing remains in the state directory.
  EXPECT_TRUE(eventually(
      [&] { return std::filesystem::is_empty(h.d.path() / "vgpu/.vgpu-state/vm3/running"); }));
}

TEST_P(FileTransportModes, SpoolRequestWithPayloadRoundTrip) {
  Harness h;
  RecordingSink sink;
  auto t = h.start(sink, GetParam());
  std::vector<float> a{1, 2}, b{3, 4};
  write_file(h.vm() / "requests/j1.in0", std::string(reinterpret_cast<char*>(a.data()), 8));
  write_file(h.vm() / "requests/j1.in1", std::string(reinterpret_cast<char*>(b.data()), 8));
  spool::Request r;
  r.op = "vector_add";
  r.params = {{"n", "2"}};
  r.input_files = {"j1.in0", "j1.in1"};
  h.spool("j1", r);
  auto got = sink.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].request.inputs.size(), 2u);
  EXPECT_EQ(got[0].request.inputs[1].size(), 8u);
  got[0].channel->deliver(got[0].request.client_tag, floats_result({4, 6}));
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(h.vm() / "responses/j1.res"); }));
  auto res = spool::decode_response(read_file(h.vm() / "responses/j1.res"));
  EXPECT_EQ(res.status, sdk::Status::ok);
  EXPECT_EQ(res.vm_name, "web");
  ASSERT_EQ(res.outputs.size(), 1u);
  EXPECT_EQ(read_file(h.vm() / "responses" / res.outputs[0].first).size(), 8u);
  // The payloads are consumed with the request.
  EXPECT_FALSE(std::filesystem::exists(h.vm() / "requests/j1.in0"));
}

INSTANTIATE_TEST_SUITE_P(Detect, FileTransportModes,
                         ::testing::Values(DetectMode::inotify, DetectMode::poll),
                         [](const auto& info) {
                           return info.param == DetectMode::inotify ? "inotify" : "poll";
                         });

TEST(FileTransport, ClaimsThatDisagreeWithTheDbAreRefusedNotScheduled) {
  Harness h;
  RecordingSink sink;
  auto t = h.start(sink);
  write_file(h.vm() / "request.txt", "B:2:3:NOOP\n");
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(h.vm() / "response.txt"); }));
  EXPECT_NE(read_file(h.vm() / "response.txt")
                .find("ERROR unauthenticated: the request claims pool B, but the config DB puts "
                      "vm_id 3 in pool A"),
            std::string::npos);
  spool::Request r;
  r.op = "noop";
  r.claimed.vm_id = 4;
  h.spool("forged", r);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(h.vm() / "responses/forged.res"); }));
  auto res = spool::decode_response(read_file(h.vm() / "responses/forged.res"));
  EXPECT_EQ(res.status, sdk::Status::unauthenticated);
  EXPECT_NE(res.message.find("claims vm_id 4, but vm3/ belongs to vm_id 3"), std::string::npos);
  EXPECT_EQ(sink.count(), 0u);
  EXPECT_TRUE(std::filesystem::exists(h.vm() / "rejected/forged.req"));
}

TEST(FileTransport, AResponseToAVmTheDbRefusedGuessesNoPoolOrPriority) {
  // Before: such a response said `pool=` and `priority=medium`, a priority nobody gave it.
  Harness h;
  RecordingSink sink;
  sink.refuse_all = true;
  auto t = h.start(sink);
  spool::Request r;
  r.op = "noop";
  h.spool("who", r);
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(h.vm() / "responses/who.res"); }));
  const auto text = read_file(h.vm() / "responses/who.res");
  EXPECT_EQ(text.find("priority="), std::string::npos) << text;
  const auto res = spool::decode_response(text);
  EXPECT_EQ(res.status, sdk::Status::unauthenticated);
  EXPECT_EQ(res.vm_id, 3u);
  EXPECT_FALSE(res.priority.has_value());
  write_file(h.vm() / "request.txt", "A:2:3:NOOP\n");
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(h.vm() / "response.txt"); }));
  EXPECT_EQ(read_file(h.vm() / "response.txt").find("priority:"), std::string::npos);
}

TEST(FileTransport, GarbageAndHalfWrittenFilesGetAnErrorAndGoAside) {
  Harness h;
  RecordingSink sink;
  auto t = h.start(sink);
  write_file(h.vm() / "requests/junk.req", std::string("\x01\x02garbage\xff", 11));
  write_file(h.vm() / "requests/half.req", "op=vector_add\nparam.n=");  // writer died
  write_file(h.vm() / "requests/bad name.req", "op=noop\nend\n");
  write_file(h.vm() / "requests/big.req", std::string(spool::kMaxRequestFileBytes + 1, 'x'));
  spool::Request fine;
  fine.op = "noop";
  h.spool("fine", fine);
  ASSERT_TRUE(eventually([&] {
    return std::filesystem::exists(h.vm() / "responses/junk.res") &&
           std::filesystem::exists(h.vm() / "responses/half.res") &&
           std::filesystem::exists(h.vm() / "responses/big.res");
  }));
  auto junk = spool::decode_response(read_file(h.vm() / "responses/junk.res"));
  EXPECT_EQ(junk.status, sdk::Status::bad_request);
  EXPECT_NE(junk.message.find("vm3/requests/junk.req: line 1"), std::string::npos) << junk.message;
  auto half = spool::decode_response(read_file(h.vm() / "responses/half.res"));
  EXPECT_NE(half.message.find("incomplete request"), std::string::npos) << half.message;
  auto big = spool::decode_response(read_file(h.vm() / "responses/big.res"));
  EXPECT_NE(big.message.find("more than the 65536 allowed"), std::string::npos) << big.message;
  for (auto aside : {"junk.req", "half.req", "bad name.req", "big.req"})
    EXPECT_TRUE(std::filesystem::exists(h.vm() / "rejected" / aside)) << aside;
  EXPECT_FALSE(std::filesystem::exists(h.vm() / "responses/bad name.res"));
  // The good request among them was served.
  auto got = sink.wait_for(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].request.op, "noop");
}

TEST(FileTransport, AfterACrashPendingRequestsRunAndRunningOnesAreNotRunAgain) {
  Harness h;
  {
    RecordingSink sink;
    auto t = h.start(sink);
    for (auto name : {"first", "second", "third"}) {
      spool::Request r;
      r.op = "spin";
      r.params = {{"which", name}};
      h.spool(name, r);
    }
    auto got = sink.wait_for(3);
    ASSERT_EQ(got.size(), 3u);
    for (auto& s : got)  // "first" is on the executor
      if (s.request.params[0].value == "first") s.channel->started(s.request.client_tag);
    t->stop();  // no result ever comes: as if the process died here
  }
  RecordingSink after;
  auto t = h.start(after);
  auto got = after.wait_for(2);
  ASSERT_EQ(got.size(), 2u) << "the two that never started run once more";
  for (auto& s : got) EXPECT_NE(s.request.params[0].value, "first");
  ASSERT_TRUE(eventually([&] { return std::filesystem::exists(h.vm() / "responses/first.res"); }));
  auto first = spool::decode_response(read_file(h.vm() / "responses/first.res"));
  EXPECT_EQ(first.status, sdk::Status::execution_error);
  EXPECT_NE(first.message.find("interrupted"), std::string::npos);
  EXPECT_EQ(after.wait_for(3, 300ms).size(), 2u) << "'first' must not run again";
}

TEST(FileTransport, AResponseWrittenBeforeTheCrashIsNotAnsweredAgain) {
  Harness h;
  {
    RecordingSink sink;
    auto t = h.start(sink);
    spool::Request r;
    r.op = "noop";
    h.spool("done", r);
    auto got = sink.wait_for(1);
    got[0].channel->started(got[0].request.client_tag);
    t->stop();
  }
  // The response made it to disk, the cleanup did not.
  spool::Response ok;
  ok.message = "the real answer";
  write_file(h.vm() / "responses/done.res", spool::encode_response(ok));
  RecordingSink after;
  auto t = h.start(after);
  ASSERT_TRUE(eventually(
      [&] { return std::filesystem::is_empty(h.d.path() / "vgpu/.vgpu-state/vm3/running"); }));
  EXPECT_EQ(spool::decode_response(read_file(h.vm() / "responses/done.res")).message,
            "the real answer");
}
