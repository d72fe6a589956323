// A hostile guest against the real mediator: every case here once crashed it, grew it without
// bound, held it up, or broke a documented rule. Each test sends what an outside implementer
// (or an attacker) could send, and checks that only that connection is affected.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>

#include <fstream>
#include <set>
#include <thread>

#include "client.hpp"
#include "guest_helpers.hpp"
#include "mediator_process.hpp"
#include "raw_connection.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
using namespace vgpu::testing;
using namespace std::chrono_literals;
namespace ops = sdk::ops;

namespace {

RawConnection hello_raw(const MediatorProcess& m, const std::string& name) {
  RawConnection c(m.port());
  auto ok = c.hello(m.vm(name).vm_id, m.vm(name).token);
  if (!ok || ok->header.type != wire::FrameType::hello_ok)
    throw std::runtime_error("HELLO refused: " + RawConnection::error_text(ok));
  return c;
}

std::vector<std::uint8_t> submit_frame(std::uint64_t tag, const wire::Submit& s,
                                       std::uint64_t data_len = 0, std::uint16_t flags = 0) {
  return wire::frame_prefix(wire::FrameType::submit, tag, s, data_len, flags);
}

// The guest library in a known-good state: another VM is served after whatever happened.
void expect_others_served(const MediatorProcess& m, const std::string& name) {
  EXPECT_TRUE(m.running());
  auto c = connect_as(m, name);
  auto r = c.run("reduce_sum", {{"n", "10"}});
  EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
}

// Transport settings (limits) are tested on a second tcp transport: MediatorProcess writes the
// first. Its port is the second endpoint in the ready file.
std::uint16_t second_tcp_port(const MediatorProcess& m) {
  const auto ready = nlohmann::json::parse(std::ifstream(m.dir() / "ready.json"));
  const std::string ep = ready["endpoints"][1];
  return static_cast<std::uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
}

std::size_t count_lines(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace

// Sizes that add up to data_len only because their u64 sum wraps aborted the whole mediator
// (uncaught std::length_error, exit 134).
TEST(Hardening, BufferSizesThatWrapAroundCloseOnlyThatConnection) {
  MediatorProcess m({{"evil", "A", "low"}, {"good", "A", "high"}});
  const std::vector<std::vector<std::uint64_t>> wrapping{
      {UINT64_MAX - 63, 128}, {1ull << 63, 1ull << 63, 64}, {UINT64_MAX, 65}};
  for (const auto& sizes : wrapping) {
    auto c = hello_raw(m, "evil");
    c.send(submit_frame(7, wire::Submit{"vector_add", {}, 0, sizes, {}, {}}, 64));
    c.send(std::vector<std::uint8_t>(64, 1));
    const auto why = RawConnection::error_text(c.read_frame());
    EXPECT_NE(why.find("does not fit the data section of 64 bytes"), std::string::npos) << why;
    EXPECT_TRUE(c.closed_by_peer());
  }
  expect_others_served(m, "good");
}

// A client that submits and never reads its results once grew the mediator by over 1 GB.
// Now the mediator stops reading that client's requests while its unread results are over the
// limit; nothing is lost: once the client reads, every job gets its result.
TEST(Hardening, UnreadResultsStopTheReadingNotTheMediator) {
  MediatorProcess m({{"hoarder", "A", "low"}, {"good", "A", "high"}}, "", "strict_priority", 2,
                    "  - plugin: tcp\n    listen: 127.0.0.1\n    port: 0\n    max_unsent_mb: 8\n");
  const auto port = second_tcp_port(m);
  const auto& vm = m.vm("hoarder");
  auto c = guest::Client::connect("127.0.0.1", port, vm.vm_id, vm.token);
  const std::size_t rss_before = resident_bytes(m.pid());
  constexpr int kJobs = 200;  // 4 MB of output each: 800 MB if nothing held the client back
  // All 200 SUBMITs reach the mediator at once (they are small): reading less is not enough,
  // the queued jobs must wait too.
  for (int i = 0; i < kJobs; ++i) c.submit("vector_add", {{"n", "1048576"}, {"seed", "3"}});
  // The mediator runs jobs until 8 MB of results wait unread, then holds the rest.
  std::this_thread::sleep_for(3s);
  const auto dispatched = m.stats()["dispatched_total"].get<std::uint64_t>();
  const std::size_t rss_held = resident_bytes(m.pid());
  EXPECT_LT(dispatched, 40u) << "the mediator kept running the client's jobs";
  EXPECT_GT(m.stats()["parked_for_unread_results"].get<int>(), 100);
  EXPECT_LT(rss_held, rss_before + (150u << 20))
      << "resident memory grew from " << rss_before << " to " << rss_held;
  expect_others_served(m, "good");
  // Reading resumes the client: every job is answered, correctly.
  std::set<std::uint64_t> tags;
  for (int i = 0; i < kJobs; ++i) {
    auto r = c.next_result();
    ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
    ASSERT_EQ(r.outputs.at(0).size(), 4u << 20);
    tags.insert(r.tag);
  }
  EXPECT_EQ(tags.size(), std::size_t(kJobs));
}

// After a flood of large results ends, the memory goes back to the system (glibc kept ~450 MB).
TEST(Hardening, MemoryReturnsAfterLargeResults) {
  MediatorProcess m({{"a1", "A", "low"}});
  const std::size_t rss_before = resident_bytes(m.pid());
  {
    auto c = connect_as(m, "a1");
    std::vector<std::uint64_t> tags;
    for (int i = 0; i < 60; ++i) tags.push_back(c.submit("vector_add", {{"n", "1048576"}}));
    std::this_thread::sleep_for(2s);  // results pile up unread
  }
  ASSERT_TRUE(eventually([&] { return m.stats()["tracked_jobs"] == 0; }, 30s));
  EXPECT_TRUE(eventually([&] { return resident_bytes(m.pid()) < rss_before + (64u << 20); }, 10s))
      << "resident memory " << resident_bytes(m.pid()) << " after close, " << rss_before
      << " before";
}

// A ~100-byte SUBMIT once got a 256 MiB RESULT from a mediator that announced 16 MiB frames.
TEST(Hardening, AnOutputLargerThanTheFrameLimitIsRefusedBeforeItRuns) {
  MediatorProcess m({{"a1", "A", "high"}}, "limits:\n  max_frame_bytes: 1048576\n");
  auto c = connect_as(m, "a1");
  EXPECT_EQ(c.identity().max_frame, 1048576u);
  auto r = c.run("vector_add", {{"n", "1048576"}});  // 4 MiB of output
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  EXPECT_NE(r.message.find("does not fit a frame (limits.max_frame_bytes 1048576)"),
            std::string::npos)
      << r.message;
  r = c.run("gemm", {{"n", "1024"}});
  EXPECT_EQ(r.status, sdk::Status::bad_request) << "4 MiB gemm output";
  EXPECT_EQ(m.stats()["dispatched_total"], 0) << "nothing ran";
  r = c.run("vector_add", {{"n", "1000"}});
  EXPECT_EQ(r.status, sdk::Status::ok) << "what fits still runs";
}

// 40 connections announcing 16 MiB each and sending nothing more once held 640 MB. Bodies are
// now read as they arrive, and connections that stop mid-frame are closed.
TEST(Hardening, AnnouncedButUnsentDataReservesNothing) {
  MediatorProcess m({{"a1", "A", "low"}, {"good", "A", "high"}},
                    "limits:\n  max_frame_bytes: 33554432\n", "strict_priority", 1, "", "");
  // The memory is what is checked here (frame_timeout_ms keeps its 30 s); the timeout is the
  // next test's.
  const std::size_t rss_before = resident_bytes(m.pid());
  std::vector<RawConnection> silent;
  for (int i = 0; i < 40; ++i) {
    silent.push_back(hello_raw(m, "a1"));
    silent.back().send(submit_frame(
        1, wire::Submit{"vector_add", {}, 0, {8u << 20, 8u << 20}, {}, {}}, 16u << 20));
  }
  std::this_thread::sleep_for(1s);
  const std::size_t rss = resident_bytes(m.pid());
  EXPECT_LT(rss, rss_before + (64u << 20)) << "from " << rss_before << " to " << rss;
  expect_others_served(m, "good");
}

TEST(Hardening, SilentConnectionsAreClosedByTheirTimeouts) {
  MediatorProcess m({{"a1", "A", "low"}, {"good", "A", "high"}}, "", "strict_priority", 1,
                    "  - plugin: tcp\n    listen: 127.0.0.1\n    port: 0\n"
                    "    hello_timeout_ms: 300\n    frame_timeout_ms: 300\n");
  const auto port = second_tcp_port(m);

  RawConnection mute(port);  // says nothing at all
  auto why = RawConnection::error_text(mute.read_frame(5s));
  EXPECT_NE(why.find("no HELLO within 300 ms"), std::string::npos) << why;

  RawConnection stalled(port);
  auto ok = stalled.hello(m.vm("a1").vm_id, m.vm("a1").token);
  ASSERT_EQ(ok->header.type, wire::FrameType::hello_ok);
  stalled.send(submit_frame(5, wire::Submit{"vector_add", {}, 0, {400, 400}, {}, {}}, 800));
  stalled.send(std::vector<std::uint8_t>(100, 0));  // a little, then nothing
  why = RawConnection::error_text(stalled.read_frame(5s));
  EXPECT_NE(why.find("no progress on a frame for 300 ms"), std::string::npos) << why;

  // An idle connection between frames is not closed: it did nothing wrong.
  RawConnection idle(port);
  ok = idle.hello(m.vm("a1").vm_id, m.vm("a1").token);
  ASSERT_EQ(ok->header.type, wire::FrameType::hello_ok);
  std::this_thread::sleep_for(1s);
  idle.send(wire::empty_frame(wire::FrameType::ping, 9));
  auto pong = idle.read_frame(5s);
  ASSERT_TRUE(pong.has_value());
  EXPECT_EQ(pong->header.type, wire::FrameType::pong);
  expect_others_served(m, "good");
}

// With 64 descriptors and 120 idle connections the accept loop once spun at 95% CPU, logged
// ~400k lines in 3 s, and a real client's HELLO timed out.
TEST(Hardening, OutOfDescriptorsTheMediatorNeitherSpinsNorLocksOutClients) {
  MediatorProcess m({{"good", "A", "high"}});
  const rlimit limit{64, 64};
  ASSERT_EQ(::prlimit(m.pid(), RLIMIT_NOFILE, &limit, nullptr), 0);
  std::vector<RawConnection> idle;
  for (int i = 0; i < 120; ++i) idle.emplace_back(m.port());
  const long ticks_before = cpu_ticks(m.pid());
  const auto start = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(3s);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = double(cpu_ticks(m.pid()) - ticks_before) / ::sysconf(_SC_CLK_TCK) / seconds;
  EXPECT_LT(cpu, 0.3) << "the mediator used " << cpu * 100 << "% of a CPU";
  EXPECT_LT(count_lines(m.log(), "accept failed"), 100u);
  // A real client gets in: idle connections without HELLO make room for it.
  EXPECT_TRUE(eventually(
      [&] {
        try {
          auto c = connect_as(m, "good");
          return c.run("noop", {}).status == sdk::Status::ok;
        } catch (const std::exception&) {
          return false;
        }
      },
      15s));
}

TEST(Hardening, TheOldestConnectionWithoutHelloMakesRoomForANewOne) {
  MediatorProcess m({{"good", "A", "high"}}, "", "strict_priority", 1,
                    "  - plugin: tcp\n    listen: 127.0.0.1\n    port: 0\n"
                    "    max_unauthenticated: 4\n");
  const auto port = second_tcp_port(m);
  std::vector<RawConnection> idle;
  for (int i = 0; i < 4; ++i) {
    idle.emplace_back(port);
    std::this_thread::sleep_for(50ms);  // in a known order
  }
  RawConnection newest(port);
  const auto why = RawConnection::error_text(idle.front().read_frame(5s));
  EXPECT_NE(why.find("too many connections without HELLO (max_unauthenticated 4)"),
            std::string::npos)
      << why;
  auto ok = newest.hello(m.vm("good").vm_id, m.vm("good").token);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->header.type, wire::FrameType::hello_ok);
}

// A tag reused while its first job *runs* was accepted, and the client got two RESULTs with one
// tag. A tag is in flight until its RESULT is sent.
TEST(Hardening, ATagStillRunningCannotBeReused) {
  MediatorProcess m({{"a1", "A", "high"}});
  auto c = hello_raw(m, "a1");
  c.send(submit_frame(5, wire::Submit{"spin", {{"us", "300000"}}, 0, {}, {}, {}}));
  std::this_thread::sleep_for(100ms);  // it runs now
  ASSERT_TRUE(eventually([&] { return m.stats()["running_total"] == 1; }));
  c.send(submit_frame(5, wire::Submit{"noop", {}, 0, {}, {}, {}}));
  const auto why = RawConnection::error_text(c.read_frame());
  EXPECT_NE(why.find("tag 5 is still in flight"), std::string::npos) << why;

  // Once answered, a tag may be used again.
  auto ok = hello_raw(m, "a1");
  ok.send(submit_frame(9, wire::Submit{"noop", {}, 0, {}, {}, {}}));
  auto first = ok.read_frame();
  ASSERT_TRUE(first && first->header.type == wire::FrameType::result);
  ok.send(submit_frame(9, wire::Submit{"noop", {}, 0, {}, {}, {}}));
  auto second = ok.read_frame();
  ASSERT_TRUE(second && second->header.type == wire::FrameType::result);
  EXPECT_EQ(wire::decode_result(second->meta).status, 0);
}

TEST(Hardening, NothingButHelloIsAnsweredBeforeHello) {
  MediatorProcess m({{"a1", "A", "high"}});
  for (auto type : {wire::FrameType::ping, wire::FrameType::cancel, wire::FrameType::nudge}) {
    RawConnection c(m.port());
    c.send(wire::empty_frame(type, 1));
    const auto f = c.read_frame();
    ASSERT_TRUE(f.has_value());
    EXPECT_EQ(f->header.type, wire::FrameType::error) << "type " << int(type);
    EXPECT_NE(RawConnection::error_text(f).find("the first frame must be HELLO"),
              std::string::npos);
  }
}

TEST(Hardening, UndefinedFlagBitsAreRefused) {
  MediatorProcess m({{"a1", "A", "high"}});
  auto c = hello_raw(m, "a1");
  c.send(submit_frame(3, wire::Submit{"noop", {}, 0, {}, {}, {}}, 0, 0x0010));
  const auto why = RawConnection::error_text(c.read_frame());
  EXPECT_NE(why.find("undefined flag bits 0x0010"), std::string::npos) << why;
}

// docs/protocol.md maps the original command words; over TCP they were unknown_op.
TEST(Hardening, TheOriginalCommandWordsWorkOverTcp) {
  MediatorProcess m({{"a1", "A", "high"}});
  auto c = connect_as(m, "a1");
  auto r = c.run("VECTOR_ADD", {{"n", "8"}, {"seed", "4"}});
  ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
  const auto sum = ops::to_floats(r.outputs.at(0));
  for (std::size_t i = 0; i < 8; ++i)
    EXPECT_EQ(sum[i], ops::generated_value(4, 0, i) + ops::generated_value(4, 1, i));
  r = c.run("MATRIX_MUL", {{"n", "2"}},
            {ops::to_buffer({1, 2, 3, 4}), ops::to_buffer({5, 6, 7, 8})});
  ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
  EXPECT_EQ(ops::to_floats(r.outputs.at(0)), (std::vector<float>{19, 22, 43, 50}));
}

TEST(Hardening, AnNThatDisagreesWithTheBuffersIsRefused) {
  MediatorProcess m({{"a1", "A", "high"}});
  auto c = connect_as(m, "a1");
  auto r = c.run("vector_add", {{"n", "1024"}}, {sdk::Buffer(64), sdk::Buffer(64)});
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  EXPECT_NE(r.message.find("n=1024 but the input buffers hold 16"), std::string::npos) << r.message;
}

// Wrong-token HELLOs were unlimited (~3,500/s from one peer).
TEST(Hardening, RepeatedFailedHellosMustWaitWithoutLockingOutOtherVms) {
  MediatorProcess m({{"target", "A", "high"}, {"other", "A", "low"}});
  const auto target = m.vm("target").vm_id;
  std::string last;
  for (int i = 0; i < 6; ++i) {
    RawConnection c(m.port());
    last = RawConnection::error_text(c.hello(target, "00000000000000000000000000000000"));
  }
  EXPECT_NE(last.find("too many failed HELLOs"), std::string::npos) << last;
  // While it waits even the right token is not looked at for that VM from this address ...
  RawConnection right(m.port());
  EXPECT_NE(RawConnection::error_text(right.hello(target, m.vm("target").token))
                .find("too many failed HELLOs"),
            std::string::npos);
  // ... but other VMs behind the same address (NAT, QEMU's user network) are not affected.
  expect_others_served(m, "other");
  // After the wait, the right token works again.
  EXPECT_TRUE(eventually(
      [&] {
        RawConnection again(m.port());
        auto f = again.hello(target, m.vm("target").token);
        return f && f->header.type == wire::FrameType::hello_ok;
      },
      10s));
}

TEST(Hardening, RequireTokensRefusesAVmRegisteredWithoutOne) {
  MediatorProcess m({{"open", "A", "high", false}, {"closed", "A", "high"}},
                    "security:\n  require_tokens: true\n");
  const auto msg =
      refusal([&] { guest::Client::connect("127.0.0.1", m.port(), m.vm("open").vm_id, ""); });
  EXPECT_NE(msg.find("authentication failed"), std::string::npos) << msg;
  EXPECT_NE(m.log().find("require_tokens"), std::string::npos);
  expect_others_served(m, "closed");
}
