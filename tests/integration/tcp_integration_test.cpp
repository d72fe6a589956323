// The mediator as a user meets it: real process, real TCP connections, real config DB.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <thread>

#include "client.hpp"
#include "guest_helpers.hpp"
#include "mediator_process.hpp"
#include "shared_memory_helpers.hpp"
#include "vgpu/guest.h"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
using namespace vgpu::testing;
using namespace std::chrono_literals;
namespace ops = sdk::ops;

namespace {

std::vector<float> floats(const guest::RunResult& r) {
  EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
  return r.outputs.empty() ? std::vector<float>{} : ops::to_floats(r.outputs[0]);
}

}  // namespace

TEST(TcpIntegration, SeveralClientsGetCorrectResults) {
  MediatorProcess m({{"a1", "A", "high"}, {"a2", "A", "low"}, {"b1", "B", "medium"}}, "",
                    "strict_priority", 2);
  std::vector<std::thread> clients;
  std::atomic<int> checked{0};
  int seed = 1;
  for (const auto* name : {"a1", "a2", "b1"}) {
    clients.emplace_back([&, name, seed = seed++] {
      auto c = connect_as(m, name);
      EXPECT_EQ(c.identity().vm_id, m.vm(name).vm_id);
      const std::string s = std::to_string(seed);
      for (int round = 0; round < 5; ++round) {
        auto sum = floats(c.run("vector_add", {{"n", "1001"}, {"seed", s}}));
        ASSERT_EQ(sum.size(), 1001u);
        for (std::size_t i = 0; i < sum.size(); ++i)
          ASSERT_EQ(sum[i], ops::generated_value(seed, 0, i) + ops::generated_value(seed, 1, i));
        auto total = floats(c.run("reduce_sum", {{"n", "5000"}, {"seed", s}}));
        double ref = 0;
        for (int i = 0; i < 5000; ++i) ref += ops::generated_value(seed, 0, i);
        ASSERT_NEAR(total.at(0), ref, 1e-3);
        std::vector<float> a{1, 2, 3, 4}, b{5, 6, 7, 8};  // 2x2 matrices sent by the client
        auto prod = floats(c.run("gemm", {{"n", "2"}}, {ops::to_buffer(a), ops::to_buffer(b)}));
        ASSERT_EQ(prod, (std::vector<float>{19, 22, 43, 50}));
        ++checked;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(checked.load(), 15);
}

TEST(TcpIntegration, PipelinedResultsComeBackByTag) {
  MediatorProcess m({{"a1", "A", "medium"}}, "", "fifo", 2);
  auto c = connect_as(m, "a1");
  std::map<std::uint64_t, int> expected;
  for (int i = 0; i < 50; ++i)
    expected[c.submit("reduce_sum", {{"n", std::to_string(i + 1)}})] = i + 1;
  for (int i = 0; i < 50; ++i) {
    auto r = c.next_result();
    ASSERT_TRUE(expected.count(r.tag));
    double ref = 0;
    for (int k = 0; k < expected[r.tag]; ++k) ref += ops::generated_value(1, 0, k);
    EXPECT_NEAR(floats(r).at(0), ref, 1e-4);
    expected.erase(r.tag);
  }
  EXPECT_TRUE(expected.empty());
}

// How the guest's CUDA driver keeps two batches in flight: it looks whether the older one's
// answer is there without waiting, and takes each answer by its tag.
TEST(TcpIntegration, AnArrivedResultIsSeenWithoutWaitingAndTakenByTag) {
  MediatorProcess m({{"a1", "A", "medium"}});  // one cpu worker: the noop runs after the spin
  auto c = connect_as(m, "a1");
  const auto spin = c.submit("spin", {{"us", "200000"}});
  const auto noop = c.submit("noop", {});
  EXPECT_FALSE(c.result_arrived(spin)) << "a 200 ms spin cannot have finished yet";
  EXPECT_FALSE(c.result_arrived(noop)) << "it waits behind the spin";
  ASSERT_TRUE(eventually([&] { return c.result_arrived(noop); }));
  EXPECT_TRUE(c.result_arrived(spin)) << "its result came first and was kept";
  const auto second = c.wait_for(noop);
  EXPECT_EQ(second.tag, noop);
  EXPECT_EQ(second.status, sdk::Status::ok);
  const auto first = c.wait_for(spin);
  EXPECT_EQ(first.tag, spin);
  EXPECT_EQ(first.status, sdk::Status::ok);
  EXPECT_FALSE(c.result_arrived(spin)) << "a result is taken once";
}

TEST(TcpIntegration, QueuedHighPriorityOvertakesQueuedLow) {
  MediatorProcess m({{"low", "A", "low"}, {"high", "A", "high"}});
  auto low = connect_as(m, "low");
  auto high = connect_as(m, "high");
  const auto blocker = low.submit("spin", {{"us", "300000"}});
  std::vector<std::uint64_t> low_tags, high_tags;
  for (int i = 0; i < 5; ++i) low_tags.push_back(low.submit("spin", {{"us", "10000"}}));
  ASSERT_TRUE(eventually([&] { return m.stats()["queued_total"] == 5; }));
  for (int i = 0; i < 5; ++i) high_tags.push_back(high.submit("spin", {{"us", "10000"}}));
  std::map<std::uint64_t, std::uint64_t> low_seq, high_seq;
  for (int i = 0; i < 6; ++i) {
    auto r = low.next_result();
    EXPECT_EQ(r.status, sdk::Status::ok);
    low_seq[r.tag] = r.dispatch_sequence;
  }
  for (int i = 0; i < 5; ++i) {
    auto r = high.next_result();
    EXPECT_EQ(r.status, sdk::Status::ok);
    high_seq[r.tag] = r.dispatch_sequence;
  }
  EXPECT_EQ(low_seq[blocker], 1u) << "the blocker was already running";
  std::uint64_t last_high = 0, first_low = UINT64_MAX;
  for (auto [tag, seq] : high_seq) last_high = std::max(last_high, seq);
  for (auto tag : low_tags) first_low = std::min(first_low, low_seq[tag]);
  EXPECT_LT(last_high, first_low) << "every queued high job started before any queued low job";
}

TEST(TcpIntegration, ForgedIdentitiesAreRefused) {
  MediatorProcess m({{"a1", "A", "high"}, {"a2", "A", "low"}, {"open", "B", "low", false}});
  const auto& a1 = m.vm("a1");
  const auto& a2 = m.vm("a2");
  // A wrong token, a missing one and an unknown vm_id get the same answer (no enumeration of
  // vm_ids); the mediator's log says which it was.
  auto msg = refusal([&] { guest::Client::connect("127.0.0.1", m.port(), a1.vm_id, a2.token); });
  const std::string same = "authentication failed for vm_id " + std::to_string(a1.vm_id) +
                           ": unknown VM, or a missing or wrong token";
  EXPECT_NE(msg.find(same), std::string::npos) << msg;
  msg = refusal([&] { guest::Client::connect("127.0.0.1", m.port(), a1.vm_id, ""); });
  EXPECT_NE(msg.find(same), std::string::npos) << msg;
  msg = refusal([&] { guest::Client::connect("127.0.0.1", m.port(), 999, "x"); });
  EXPECT_NE(msg.find("authentication failed for vm_id 999: unknown VM, or a missing or wrong "
                     "token"),
            std::string::npos)
      << msg;
  EXPECT_NE(m.log().find("wrong token for vm_id " + std::to_string(a1.vm_id)), std::string::npos);
  EXPECT_NE(m.log().find("unknown vm_id 999"), std::string::npos);
  // A VM registered without a token is identified by its vm_id alone, and gets the DB's identity.
  auto open = guest::Client::connect("127.0.0.1", m.port(), m.vm("open").vm_id, "");
  EXPECT_EQ(open.identity().pool, "B");
  EXPECT_EQ(open.identity().priority, 0);
  EXPECT_EQ(open.run("noop", {}).status, sdk::Status::ok);
  EXPECT_EQ(m.stats()["hellos"]["tcp"]["refused"], 3);
  EXPECT_EQ(m.stats()["hellos"]["tcp"]["accepted"], 1);
}

TEST(TcpIntegration, GarbageOrOversizeFrameClosesOnlyThatConnection) {
  MediatorProcess m({{"a1", "A", "high"}, {"a2", "A", "low"}},
                    "limits:\n  max_frame_bytes: 65536\n");
  auto good = connect_as(m, "a1");

  auto bad = connect_as(m, "a2");
  bad.send_raw(std::vector<std::uint8_t>(64, 0xAB));
  auto msg = refusal([&] { bad.next_result(); });
  EXPECT_NE(msg.find("bad magic"), std::string::npos) << msg;
  msg = refusal([&] { bad.next_result(); });
  EXPECT_NE(msg.find("connection to the mediator"), std::string::npos) << "closed: " << msg;

  // Only the header is sent: the mediator must refuse on the header's sizes alone, before
  // reading (or allocating) any of the 200 kB it announces.
  auto big = connect_as(m, "a2");
  big.send_raw(wire::frame_prefix(wire::FrameType::submit, 1,
                                  wire::Submit{"vector_add", {}, 0, {100000, 100000}, {}, {}},
                                  200000));
  msg = refusal([&] { big.next_result(); });
  EXPECT_NE(msg.find("exceeds the maximum of 65536"), std::string::npos) << msg;

  auto before_hello =
      guest::Client::connect("127.0.0.1", m.port(), m.vm("a2").vm_id, m.vm("a2").token);
  before_hello.send_raw(wire::frame_prefix(wire::FrameType::result, 1, wire::ResultMeta{}));
  msg = refusal([&] { before_hello.next_result(); });
  EXPECT_NE(msg.find("sent by the mediator"), std::string::npos) << msg;

  EXPECT_EQ(floats(good.run("reduce_sum", {{"n", "10"}})).size(), 1u) << "others carry on";
  EXPECT_TRUE(m.running());
}

TEST(TcpIntegration, BadJobsGetClearErrorsAndTheConnectionStays) {
  MediatorProcess m({{"a1", "A", "high"}});
  auto c = connect_as(m, "a1");
  auto r = c.run("fft", {});
  EXPECT_EQ(r.status, sdk::Status::unknown_op);
  EXPECT_NE(r.message.find("unknown op 'fft'"), std::string::npos) << r.message;
  r = c.run("vector_add", {{"n", "ten"}});
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  EXPECT_NE(r.message.find("'n'"), std::string::npos) << r.message;
  r = c.run("vector_add", {}, {sdk::Buffer(8)});
  EXPECT_EQ(r.status, sdk::Status::bad_request);
  c.ping();
  EXPECT_EQ(c.run("noop", {}).status, sdk::Status::ok);
}

TEST(TcpIntegration, PerVmQueueLimitGivesQueueFull) {
  MediatorProcess m({{"a1", "A", "high"}, {"a2", "A", "high"}},
                    "limits:\n  max_queued_per_vm: 3\n");
  auto c = connect_as(m, "a1");
  for (int i = 0; i < 3; ++i) c.submit("spin", {{"us", "50000"}});
  auto r = c.run("noop", {});
  EXPECT_EQ(r.status, sdk::Status::queue_full);
  EXPECT_NE(r.message.find("limit 3"), std::string::npos) << r.message;
  auto other = connect_as(m, "a2");
  EXPECT_EQ(other.run("noop", {}).status, sdk::Status::ok) << "another VM is not affected";
}

TEST(TcpIntegration, DisconnectWithQueuedJobsLeaksNothing) {
  MediatorProcess m({{"a1", "A", "high"}, {"a2", "B", "high"}});
  {
    auto c = connect_as(m, "a1");
    c.submit("spin", {{"us", "200000"}});
    for (int i = 0; i < 30; ++i) c.submit("vector_add", {{"n", "100000"}});
    ASSERT_TRUE(eventually([&] { return m.stats()["queued_total"] == 30; }));
  }  // the client goes away with 30 jobs queued and one running
  ASSERT_TRUE(eventually([&] {
    auto s = m.stats();
    return s["queued_total"] == 0 && s["tracked_jobs"] == 0 && s["connections_with_jobs"] == 0;
  }));
  auto s = m.stats();
  const auto key = std::to_string(m.vm("a1").vm_id);
  EXPECT_EQ(s["vms"][key]["cancelled"], 30);
  EXPECT_EQ(s["vms"][key]["done"], 1) << "the running job finished; its result was dropped";
  auto other = connect_as(m, "a2");
  EXPECT_EQ(other.run("noop", {}).status, sdk::Status::ok);
}

TEST(TcpIntegration, CancelQueuedJob) {
  MediatorProcess m({{"a1", "A", "high"}});
  auto c = connect_as(m, "a1");
  const auto blocker = c.submit("spin", {{"us", "100000"}});
  const auto victim = c.submit("spin", {{"us", "100000"}});
  c.cancel(victim);
  auto first = c.next_result();
  EXPECT_EQ(first.tag, victim);
  EXPECT_EQ(first.status, sdk::Status::cancelled);
  EXPECT_EQ(c.next_result().tag, blocker);
}

TEST(TcpIntegration, SigtermWithJobsInFlightShutsDownCleanly) {
  MediatorProcess m({{"a1", "A", "high"}});
  auto c = connect_as(m, "a1");
  const auto running = c.submit("spin", {{"us", "300000"}});
  for (int i = 0; i < 3; ++i) c.submit("spin", {{"us", "1000"}});
  ASSERT_TRUE(eventually([&] { return m.stats()["queued_total"] == 3; }));
  std::thread stopper([&] { EXPECT_EQ(m.stop(SIGTERM), 0) << m.log(); });
  std::map<std::uint64_t, sdk::Status> statuses;
  for (int i = 0; i < 4; ++i) {
    auto r = c.next_result();
    statuses[r.tag] = r.status;
  }
  stopper.join();
  EXPECT_EQ(statuses[running], sdk::Status::ok) << "the running job finished and was reported";
  int failed = 0;
  for (auto [tag, st] : statuses) failed += st == sdk::Status::shutting_down;
  EXPECT_EQ(failed, 3) << "queued jobs were failed and reported, not lost";
  EXPECT_NE(m.log().find("stopped cleanly"), std::string::npos);
}

TEST(TcpIntegration, PriorityChangeByAdminAppliesWithoutRestart) {
  MediatorProcess m({{"a1", "A", "low"}});
  EXPECT_EQ(connect_as(m, "a1").identity().priority, 0);
  auto r = run_command(program("vgpu-admin").string() + " --db " + m.db().string() +
                       " set-priority a1 high");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(eventually([&] { return connect_as(m, "a1").identity().priority == 2; }));
  auto c = connect_as(m, "a1");
  c.run("noop", {});
  EXPECT_EQ(m.stats()["vms"][std::to_string(m.vm("a1").vm_id)]["priority"], "high");
}

TEST(TcpIntegration, CApiRunsAJob) {
  MediatorProcess m({{"a1", "A", "high"}});
  char err[256] = "";
  vgpu_client* c = vgpu_connect("127.0.0.1", m.port(), m.vm("a1").vm_id, m.vm("a1").token.c_str(),
                                err, sizeof err);
  ASSERT_NE(c, nullptr) << err;
  const char* params[] = {"n=100", "seed=5"};
  float out = 0;
  size_t size = 0;
  EXPECT_EQ(vgpu_run(c, "reduce_sum", params, 2, &out, sizeof out, &size, err, sizeof err), 0)
      << err;
  EXPECT_EQ(size, sizeof(float));
  double ref = 0;
  for (int i = 0; i < 100; ++i) ref += ops::generated_value(5, 0, i);
  EXPECT_NEAR(out, ref, 1e-4);
  EXPECT_EQ(vgpu_run(c, "nope", nullptr, 0, nullptr, 0, nullptr, err, sizeof err),
            static_cast<int>(sdk::Status::unknown_op));
  vgpu_close(c);
  EXPECT_EQ(vgpu_connect("127.0.0.1", 1, 1, "", err, sizeof err), nullptr);
  EXPECT_NE(std::string(err).find("no mediator at 127.0.0.1:1"), std::string::npos) << err;
}

TEST(TcpIntegration, ALargeResultWrittenPartlyAtOnceArrivesWholeAndInOrder) {
  // 16 MB cannot go into the socket at once while the client is not reading: the worker thread
  // writes what fits and the I/O thread the rest; a PONG and a later result queue behind it.
  // One worker, so the later job cannot finish first on a loaded machine.
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1);
  auto c = connect_as(m, "a1");
  const std::size_t n = std::size_t(4) << 20;
  const auto big = c.submit("vector_add", {{"n", std::to_string(n)}, {"seed", "9"}});
  std::this_thread::sleep_for(300ms);  // the result waits in the mediator meanwhile
  c.send_raw(wire::empty_frame(wire::FrameType::ping, 0));
  const auto small = c.submit("reduce_sum", {{"n", "100"}, {"seed", "5"}});
  auto first = c.next_result();
  ASSERT_EQ(first.tag, big);
  auto sum = floats(first);
  ASSERT_EQ(sum.size(), n);
  for (std::size_t i = 0; i < n; ++i)
    ASSERT_EQ(sum[i], ops::generated_value(9, 0, i) + ops::generated_value(9, 1, i)) << i;
  auto second = c.next_result();  // the PONG in between is skipped by next_result()
  EXPECT_EQ(second.tag, small);
  double ref = 0;
  for (int i = 0; i < 100; ++i) ref += ops::generated_value(5, 0, i);
  EXPECT_NEAR(floats(second).at(0), ref, 1e-4);
}

TEST(TcpIntegration, BusyPollingServesTheSameResults) {
  // The transport, the executor and the client all poll for 2 ms before sleeping; jobs come
  // both within that window and after it, when every side has gone back to sleep.
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1, "    busy_poll_us: 2000\n",
                    "  - plugin: cpu\n    workers: 2\n    busy_poll_us: 2000\n");
  auto c = connect_as(m, "a1");
  c.set_spin_wait(2ms);
  for (int round = 0; round < 20; ++round) {
    const std::string seed = std::to_string(round + 1);
    auto sum = floats(c.run("vector_add", {{"n", "777"}, {"seed", seed}}));
    ASSERT_EQ(sum.size(), 777u);
    for (std::size_t i = 0; i < sum.size(); ++i)
      ASSERT_EQ(sum[i],
                ops::generated_value(round + 1, 0, i) + ops::generated_value(round + 1, 1, i));
    if (round % 4 == 3) std::this_thread::sleep_for(10ms);  // past every polling window
  }
  EXPECT_EQ(m.stats()["dispatched_total"], 20);
}

TEST(TcpIntegration, SharedMemoryCarriesInputsAndOutputsBesideTheSocket) {
  ShmDir shm;
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1, shm.tcp_settings(4));
  auto c = connect_shared(m, "a1");
  EXPECT_EQ(c.identity().shared_bytes, 4u << 20);
  EXPECT_EQ(c.identity().shared_name,
            (shm.path / ("vm" + std::to_string(m.vm("a1").vm_id))).string());
  auto memory = c.map_shared_memory();
  ASSERT_EQ(memory.size(), 4u << 20);

  // Generated inputs, the output in shared memory: the same values as through the socket.
  const std::size_t n = 100000;
  const std::vector<sdk::Param> params{{"n", std::to_string(n)}, {"seed", "4"}};
  auto placed = c.run_shared("vector_add", params, {}, {{1 << 20, n * sizeof(float)}});
  EXPECT_TRUE(placed.outputs.empty());
  ASSERT_EQ(placed.shared_outputs.size(), 1u);
  EXPECT_EQ(placed.shared_outputs[0].data(), memory.data() + (1 << 20));
  EXPECT_EQ(shared_floats(placed), floats(c.run("vector_add", params)));

  // Inputs from shared memory too: a 2x2 gemm whose matrices the client wrote there.
  const std::vector<float> a{1, 2, 3, 4}, b{5, 6, 7, 8};
  std::memcpy(memory.data(), a.data(), 16);
  std::memcpy(memory.data() + 16, b.data(), 16);
  auto prod = c.run_shared("gemm", {{"n", "2"}}, {{0, 16}, {16, 16}}, {{64, 16}});
  EXPECT_EQ(shared_floats(prod), (std::vector<float>{19, 22, 43, 50}));
}

TEST(TcpIntegration, BadSharedMemoryRequestsGetClearErrorsAndTheConnectionStays) {
  ShmDir shm;
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1, shm.tcp_settings(1));
  auto c = connect_shared(m, "a1");
  c.map_shared_memory();
  const std::vector<sdk::Param> params{{"n", "1000"}, {"seed", "2"}};

  auto small = c.run_shared("vector_add", params, {}, {{0, 3999}});  // one float short
  EXPECT_EQ(small.status, sdk::Status::bad_request);
  EXPECT_NE(small.message.find("output 0 is 4000 bytes but its place in shared memory holds 3999"),
            std::string::npos)
      << small.message;

  auto outside = c.run_shared("vector_add", params, {}, {{(1 << 20) - 100, 4000}});
  EXPECT_EQ(outside.status, sdk::Status::bad_request);
  EXPECT_NE(outside.message.find("shared output 0 (offset 1048476, 4000 bytes) lies outside"),
            std::string::npos)
      << outside.message;

  auto wrapping = c.run_shared("gemm", {{"n", "2"}}, {{16, UINT64_MAX - 8}, {0, 16}}, {{64, 16}});
  EXPECT_EQ(wrapping.status, sdk::Status::bad_request);
  EXPECT_NE(wrapping.message.find("shared input 0"), std::string::npos) << wrapping.message;

  auto fine = c.run_shared("vector_add", params, {}, {{0, 4000}});
  EXPECT_EQ(shared_floats(fine).size(), 1000u);
}

TEST(TcpIntegration, EachVmGetsItsOwnRegionAndItsConnectionsShareIt) {
  ShmDir shm;
  MediatorProcess m({{"a1", "A", "high"}, {"b1", "B", "low"}}, "", "strict_priority", 1,
                    shm.tcp_settings(1));
  auto first = connect_shared(m, "a1"), second = connect_shared(m, "a1"),
       other = connect_shared(m, "b1");
  EXPECT_EQ(first.identity().shared_name, second.identity().shared_name);
  EXPECT_NE(first.identity().shared_name, other.identity().shared_name);
  auto mine = first.map_shared_memory();
  second.map_shared_memory();
  auto theirs = other.map_shared_memory();
  // A job of one connection writes where the other connection of the same VM reads it.
  auto r = first.run_shared("vector_add", {{"n", "8"}, {"seed", "3"}}, {}, {{128, 32}});
  ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
  EXPECT_EQ(std::memcmp(second.shared_memory().data() + 128, mine.data() + 128, 32), 0);
  EXPECT_NE(std::memcmp(theirs.data() + 128, mine.data() + 128, 32), 0);
}

TEST(TcpIntegration, WithoutSharedMemoryDirTheClientIsToldWhy) {
  MediatorProcess m({{"a1", "A", "high"}});
  auto c = connect_shared(m, "a1");
  EXPECT_EQ(c.identity().shared_bytes, 0u);
  EXPECT_NE(refusal([&] { c.map_shared_memory(); }).find("shared_memory_dir"), std::string::npos);
  // The connection serves ordinary jobs as before.
  EXPECT_EQ(floats(c.run("vector_add", {{"n", "10"}})).size(), 10u);
}

namespace {
// A port that was free a moment ago, for a mediator that must come back on the same one.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}
}  // namespace

// A host upgrade restarts the mediator: a client with `reconnect` gets its in-flight jobs back
// as interrupted, connects again by itself, and goes on.
TEST(TcpIntegration, TheClientReconnectsAfterAMediatorRestart) {
  const auto port = free_port();
  MediatorProcess m(
      {{"a1", "A", "high"}}, "", "strict_priority", 1,
      "  - plugin: tcp\n    listen: 127.0.0.1\n    port: " + std::to_string(port) + "\n");
  guest::ConnectOptions options;
  options.reconnect = true;
  options.reconnect_for = 20s;
  auto c = guest::Client::connect("127.0.0.1", port, m.vm("a1").vm_id, m.vm("a1").token, options);
  const auto running = c.submit("spin", {{"us", "2000000"}});
  const auto queued = c.submit("noop", {});
  ASSERT_TRUE(eventually([&] { return m.stats()["running_total"] == 1; }));
  m.stop(SIGKILL);  // no goodbye: the client finds out when it reads
  m.restart();
  std::set<std::uint64_t> interrupted;
  for (int i = 0; i < 2; ++i) {
    auto r = c.next_result();
    EXPECT_EQ(r.status, sdk::Status::execution_error);
    EXPECT_EQ(r.message.rfind("interrupted:", 0), 0u) << r.message;
    interrupted.insert(r.tag);
  }
  EXPECT_EQ(interrupted, (std::set<std::uint64_t>{running, queued}));
  auto r = c.run("reduce_sum", {{"n", "10"}});
  EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
  EXPECT_EQ(c.reconnects(), 1u);
  // Without the option, a lost connection is an error, as before.
  auto plain = guest::Client::connect("127.0.0.1", port, m.vm("a1").vm_id, m.vm("a1").token);
  m.stop(SIGKILL);
  EXPECT_NE(refusal([&] { plain.run("noop", {}); }).find("lost"), std::string::npos);
}
