// The file transport as an operator deploys it: the real mediator serving a shared directory,
// guests writing real files (the original request.txt, and the spool through libvgpu-guest).
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "mediator_process.hpp"
#include "spool_client.hpp"
#include "vgpu/protocol/spool.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
using namespace vgpu::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;
namespace ops = sdk::ops;

namespace {

struct Share {
  fs::path path;
  Share() {
    static int counter = 0;
    path = fs::temp_directory_path() /
           ("vgpu-share-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::remove_all(path);
  }
  ~Share() {
    if (!::testing::Test::HasFailure()) fs::remove_all(path);
  }
  fs::path vm(std::uint32_t id) const { return path / ("vm" + std::to_string(id)); }
};

std::string file_transport(const Share& share, const std::string& detect,
                           const std::string& more = "") {
  return "  - plugin: file\n    root: " + share.path.string() + "\n    detect: " + detect +
         "\n    poll_interval_ms: 20\n    rescan_interval_ms: 200\n" + more;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// Waits until the mediator has made VM `id`'s directories, then opens its spool as a guest would.
guest::SpoolClient open_spool(const Share& share, std::uint32_t id) {
  if (!eventually([&] { return fs::is_directory(share.vm(id) / "responses"); }))
    throw std::runtime_error("the mediator made no directory for vm" + std::to_string(id));
  return guest::SpoolClient::open(share.vm(id).string());
}

// Waits for request.txt's answer as the original client did: until response.txt appears.
std::string compat_round_trip(const Share& share, std::uint32_t vm_id, const std::string& line) {
  fs::remove(share.vm(vm_id) / "response.txt");
  write_file(share.vm(vm_id) / "request.txt", line);
  if (!eventually([&] { return fs::exists(share.vm(vm_id) / "response.txt"); }))
    return "no response";
  return read_file(share.vm(vm_id) / "response.txt");
}

std::vector<float> expected_vector_add(std::uint64_t seed, std::size_t n) {
  std::vector<float> out(n);
  for (std::size_t i = 0; i < n; ++i)
    out[i] = ops::generated_value(seed, 0, i) + ops::generated_value(seed, 1, i);
  return out;
}

}  // namespace

class FileIntegration : public ::testing::TestWithParam<std::string> {};

TEST_P(FileIntegration, OriginalRequestTxtRoundTrip) {
  Share share;
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1,
                    file_transport(share, GetParam()));
  const auto id = m.vm("a1").vm_id;
  ASSERT_TRUE(eventually([&] { return fs::is_directory(share.vm(id) / "requests"); }));
  const auto text =
      compat_round_trip(share, id, "A:2:" + std::to_string(id) + ":VECTOR_ADD n=1000 seed=3\n");
  ASSERT_EQ(text.rfind("OK vector_add\n", 0), 0u) << text;
  double sum = 0;
  for (float v : expected_vector_add(3, 1000)) sum += v;
  const auto at = text.find("sum: ");
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_NEAR(std::stod(text.substr(at + 5)), sum, 1e-3);
  EXPECT_NE(text.find("values: 1000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pool: A\npriority: high\n"), std::string::npos) << text;
  // The original form without a final newline is taken once the file stays quiet.
  const auto quiet = compat_round_trip(share, id, "A:2:" + std::to_string(id) + ":NOOP");
  EXPECT_EQ(quiet.rfind("OK noop\n", 0), 0u) << quiet;
}

TEST_P(FileIntegration, HundredRequestsInFlightFromFourVms) {
  Share share;
  MediatorProcess m(
      {{"a1", "A", "high"}, {"a2", "A", "low"}, {"b1", "B", "medium"}, {"b2", "B", "low"}}, "",
      "strict_priority", 2, file_transport(share, GetParam()));
  std::vector<std::thread> guests;
  std::atomic<int> correct{0};
  for (const auto* name : {"a1", "a2", "b1", "b2"}) {
    const auto id = m.vm(name).vm_id;
    guests.emplace_back([&, id] {
      ASSERT_TRUE(eventually([&] { return fs::is_directory(share.vm(id) / "responses"); }));
      auto client = guest::SpoolClient::open(share.vm(id).string());
      std::map<std::uint64_t, std::pair<std::uint64_t, std::size_t>> sent;  // tag -> seed, n
      for (std::size_t i = 0; i < 25; ++i) {
        const std::uint64_t seed = id * 100 + i;
        const std::size_t n = 257 + i;
        sent[client.submit("vector_add",
                           {{"n", std::to_string(n)}, {"seed", std::to_string(seed)}})] = {seed, n};
      }
      EXPECT_EQ(client.in_flight(), 25u);
      for (int i = 0; i < 25; ++i) {
        auto r = client.next_result(30s);
        ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
        const auto [seed, n] = sent.at(r.tag);
        ASSERT_EQ(ops::to_floats(r.outputs.at(0)), expected_vector_add(seed, n));
        ++correct;
      }
      EXPECT_EQ(client.identity().vm_id, id);
    });
  }
  for (auto& g : guests) g.join();
  EXPECT_EQ(correct.load(), 100);
}

INSTANTIATE_TEST_SUITE_P(Detect, FileIntegration, ::testing::Values("inotify", "poll"));

TEST(FileTransportIntegration, ForgedIdentitiesAreRefusedAndNeverRun) {
  Share share;
  MediatorProcess m({{"a1", "A", "low"}, {"b1", "B", "high"}}, "", "strict_priority", 1,
                    file_transport(share, "inotify"));
  const auto a1 = m.vm("a1").vm_id, b1 = m.vm("b1").vm_id;
  ASSERT_TRUE(eventually([&] { return fs::is_directory(share.vm(a1) / "requests"); }));
  // a1 claims the high priority of pool B, then b1's vm_id, from its own directory.
  auto text = compat_round_trip(share, a1, "B:2:" + std::to_string(a1) + ":SPIN us=1000\n");
  EXPECT_NE(text.find("ERROR unauthenticated: the request claims pool B, but the config DB puts "
                      "vm_id " +
                      std::to_string(a1) + " in pool A"),
            std::string::npos)
      << text;
  text = compat_round_trip(share, a1, "A:0:" + std::to_string(b1) + ":NOOP\n");
  EXPECT_NE(text.find("claims vm_id " + std::to_string(b1)), std::string::npos) << text;
  text = compat_round_trip(share, a1, "A:2:" + std::to_string(a1) + ":NOOP\n");
  EXPECT_NE(text.find("claims priority high, but the config DB gives vm_id " + std::to_string(a1) +
                      " priority low"),
            std::string::npos)
      << text;
  EXPECT_TRUE(fs::exists(share.vm(a1) / "rejected/request.txt.2"));
  EXPECT_EQ(m.stats()["dispatched_total"].get<int>(), 0) << m.stats().dump();
}

TEST(FileTransportIntegration, SigkillWithRequestsPendingRunsEachExactlyOnce) {
  Share share;
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1,
                    file_transport(share, "inotify"));
  const auto id = m.vm("a1").vm_id;
  auto client = open_spool(share, id);
  for (int i = 0; i < 5; ++i) client.submit("spin", {{"us", "300000"}});
  const auto running = share.path / ".vgpu-state" / ("vm" + std::to_string(id)) / "running";
  ASSERT_TRUE(eventually([&] { return !fs::is_empty(running); }));
  ASSERT_EQ(m.stop(SIGKILL), 128 + SIGKILL);
  m.restart();
  int interrupted = 0, ok = 0;
  for (int i = 0; i < 5; ++i) {
    auto r = client.next_result(30s);
    if (r.status == sdk::Status::ok) ++ok;
    if (r.message.find("interrupted") != std::string::npos) ++interrupted;
  }
  EXPECT_EQ(interrupted, 1) << "the job on the executor at the kill is not run again";
  EXPECT_EQ(ok, 4) << "the four that never started run after the restart";
  EXPECT_EQ(m.stats()["dispatched_total"].get<int>(), 4) << m.stats().dump();
  EXPECT_TRUE(fs::is_empty(running));
}

TEST(FileTransportIntegration, GracefulStopKeepsQueuedRequestsForTheNextStart) {
  Share share;
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1,
                    file_transport(share, "inotify"));
  const auto id = m.vm("a1").vm_id;
  auto client = open_spool(share, id);
  for (int i = 0; i < 3; ++i) client.submit("spin", {{"us", "200000"}});
  const auto state = share.path / ".vgpu-state" / ("vm" + std::to_string(id));
  ASSERT_TRUE(eventually([&] { return !fs::is_empty(state / "running"); }));
  EXPECT_EQ(m.stop(SIGTERM), 0);
  m.restart();
  for (int i = 0; i < 3; ++i) {
    auto r = client.next_result(30s);
    EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
  }
}

TEST(FileTransportIntegration, OneVmCannotEnterAnothersDirectory) {
  if (::geteuid() != 0) GTEST_SKIP() << "per-VM owners need root (the mediator runs as root)";
  Share share;
  MediatorProcess m({{"a1", "A", "high"}, {"b1", "B", "low"}}, "", "strict_priority", 1,
                    file_transport(share, "inotify", "    uid_base: 61000\n"));
  const auto a1 = m.vm("a1").vm_id, b1 = m.vm("b1").vm_id;
  ASSERT_TRUE(eventually([&] { return fs::is_directory(share.vm(b1) / "requests"); }));
  // A process running as a1's uid: the identity a1's guest has on the share.
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setgid(61000 + a1) != 0 || ::setuid(61000 + a1) != 0) ::_exit(10);
    const auto own = share.vm(a1) / "requests" / "mine.txt";
    if (!std::ofstream(own)) ::_exit(11);                                       // own: ok
    if (::access(share.vm(b1).c_str(), R_OK | X_OK) == 0) ::_exit(12);          // other's: no
    if (std::ofstream(share.vm(b1) / "requests" / "intrude.req")) ::_exit(13);  // cannot write
    if (::opendir(share.path.c_str()) != nullptr) ::_exit(14);                  // cannot list root
    ::_exit(0);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 setuid, 11 own dir, 12 read other, 13 write other, "
                                       "14 list root";
  struct stat st {};
  ASSERT_EQ(::stat(share.vm(b1).c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 61000 + b1);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
}

TEST(FileTransportIntegration, AFullDiskIsReportedAndTheResultWrittenWhenSpaceReturns) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  Share share;
  fs::create_directories(share.path);
  if (::mount("tmpfs", share.path.c_str(), "tmpfs", 0, "size=2m") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  struct Unmount {
    const fs::path& p;
    ~Unmount() { ::umount2(p.c_str(), MNT_DETACH); }
  } unmount{share.path};
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1,
                    file_transport(share, "inotify"));
  const auto id = m.vm("a1").vm_id;
  auto client = open_spool(share, id);
  // Leave about 100 KiB free, then ask for a 400 KB result.
  struct statvfs vfs {};
  ::statvfs(share.path.c_str(), &vfs);
  const auto free_bytes = vfs.f_bavail * vfs.f_frsize;
  std::ofstream(share.path / "filler", std::ios::binary)
      << std::string(free_bytes - 100 * 1024, 'x');
  client.submit("vector_add", {{"n", "100000"}, {"seed", "5"}});
  ASSERT_TRUE(eventually([&] {
    return m.log().find("No space left on device") != std::string::npos;
  })) << m.log();
  EXPECT_NE(m.log().find("the result is kept"), std::string::npos);
  fs::remove(share.path / "filler");
  auto r = client.next_result(10s);
  ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
  EXPECT_EQ(ops::to_floats(r.outputs.at(0)), expected_vector_add(5, 100000));
}

TEST(FileTransportIntegration, VgpuClientUsesTheSpool) {
  Share share;
  MediatorProcess m({{"b1", "B", "medium"}}, "", "strict_priority", 1,
                    file_transport(share, "poll"));
  const auto id = m.vm("b1").vm_id;
  ASSERT_TRUE(eventually([&] { return fs::is_directory(share.vm(id) / "requests"); }));
  auto out = run_command(program("vgpu-client").string() + " --transport file --dir " +
                         share.vm(id).string() + " --json run reduce_sum --n 100 --seed 2");
  ASSERT_EQ(out.exit_code, 0) << out.output;
  auto j = nlohmann::json::parse(out.output);
  EXPECT_EQ(j["status"], "ok") << out.output;
  EXPECT_EQ(j["vm_id"], id) << out.output;
  auto missing = run_command(program("vgpu-client").string() +
                             " --transport file --dir /nonexistent/vm9 run noop");
  EXPECT_EQ(missing.exit_code, 4);
  EXPECT_NE(missing.output.find("no requests/ under /nonexistent/vm9"), std::string::npos)
      << missing.output;
}

TEST(FileTransportIntegration, GarbageIsAnsweredAndSetAsideWhileOthersAreServed) {
  Share share;
  MediatorProcess m({{"a1", "A", "high"}, {"b1", "B", "low"}}, "", "strict_priority", 1,
                    file_transport(share, "poll"));
  const auto a1 = m.vm("a1").vm_id, b1 = m.vm("b1").vm_id;
  ASSERT_TRUE(eventually([&] { return fs::is_directory(share.vm(b1) / "requests"); }));
  // a1 writes garbage of every kind; b1 works meanwhile.
  write_file(share.vm(a1) / "requests/junk.req", std::string("\x7f"
                                                             "ELF\x01\x02\x00",
                                                             7));
  write_file(share.vm(a1) / "request.txt", "this is not a request\n");
  fs::create_symlink("/etc/shadow", share.vm(a1) / "requests/steal.req");
  auto client = guest::SpoolClient::open(share.vm(b1).string());
  auto r = client.run("reduce_sum", {{"n", "10"}, {"seed", "1"}});
  EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
  ASSERT_TRUE(eventually([&] {
    return fs::exists(share.vm(a1) / "responses/junk.res") &&
           fs::exists(share.vm(a1) / "responses/steal.res") &&
           fs::exists(share.vm(a1) / "response.txt");
  }));
  EXPECT_EQ(
      read_file(share.vm(a1) / "response.txt").rfind("ERROR bad_request: request.txt must be", 0),
      0u);
  const auto steal = read_file(share.vm(a1) / "responses/steal.res");
  EXPECT_NE(steal.find("is a symbolic link; refused"), std::string::npos) << steal;
  EXPECT_EQ(steal.find("root:"), std::string::npos) << "nothing of the link's target leaks";
  for (auto aside : {"junk.req", "steal.req", "request.txt"})
    EXPECT_TRUE(fs::exists(fs::symlink_status(share.vm(a1) / "rejected" / aside))) << aside;
  EXPECT_TRUE(m.running());
}

// A guest owns its directory and may do anything in it. Recreating responses/ once left its
// results "kept and retried" forever into the deleted directory; recreating requests/ made new
// requests invisible; recreating rejected/ broke setting bad files aside.
TEST(FileTransportIntegration, AGuestThatReplacesItsDirectoriesIsServedAgain) {
  Share share;
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1,
                    file_transport(share, "inotify"));
  const auto id = m.vm("a1").vm_id;
  const auto vm = share.vm(id);
  {
    auto client = open_spool(share, id);
    ASSERT_EQ(client.run("reduce_sum", {{"n", "10"}}).status, sdk::Status::ok);
  }
  for (auto dir : {"responses", "requests", "rejected"}) {
    fs::remove_all(vm / dir);
    fs::create_directory(vm / dir);
  }
  {
    auto client = guest::SpoolClient::open(vm.string());
    auto r = client.run("vector_add", {{"n", "1000"}, {"seed", "7"}});
    ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
    EXPECT_EQ(ops::to_floats(r.outputs.at(0)), expected_vector_add(7, 1000));
  }
  write_file(vm / "requests/junk.req", "garbage\n");
  EXPECT_TRUE(eventually([&] { return fs::exists(vm / "rejected/junk.req"); }))
      << "setting aside works in the new rejected/";

  // responses/ removed and not recreated: the mediator makes it again and delivers.
  fs::remove_all(vm / "responses");
  write_file(vm / "requests/late.req",
             spool::encode_request(spool::Request{"reduce_sum", {{"n", "10"}}}));
  EXPECT_TRUE(eventually([&] { return fs::exists(vm / "responses/late.res"); }));
  const std::string log = m.log();
  EXPECT_LT(std::count(log.begin(), log.end(), '\n'), 200) << "no flood of log lines";
}

// A response that cannot be delivered waits on disk in the mediator's outbox, not in memory,
// and is delivered once the guest's directory is usable again.
TEST(FileTransportIntegration, AnUndeliverableResponseWaitsOnDisk) {
  Share share;
  MediatorProcess m({{"a1", "A", "high"}}, "", "strict_priority", 1,
                    file_transport(share, "inotify"));
  const auto id = m.vm("a1").vm_id;
  const auto vm = share.vm(id);
  auto client = open_spool(share, id);
  // Make responses/ unusable (a plain file where the directory was), with a job still running.
  client.submit("spin", {{"us", "300000"}});
  std::this_thread::sleep_for(100ms);
  fs::remove_all(vm / "responses");
  write_file(vm / "responses", "not a directory");
  const auto outbox = share.path / ".vgpu-state" / ("vm" + std::to_string(id)) / "outbox";
  ASSERT_TRUE(eventually([&] { return !fs::is_empty(outbox); }, 10s)) << m.log();
  EXPECT_NE(m.log().find("is not served until its directories are usable"), std::string::npos)
      << m.log();
  fs::remove(vm / "responses");
  fs::create_directory(vm / "responses");
  auto r = client.next_result(10s);
  EXPECT_EQ(r.status, sdk::Status::ok) << r.message;
  EXPECT_TRUE(eventually([&] { return fs::is_empty(outbox); }));
}

// Found by the soak test: a VM removed from the DB kept its seven directory handles open in the
// mediator for ever (and a new one for each VM registered and removed since).
TEST(FileTransportIntegration, ARemovedVmsDirectoriesAreClosed) {
  Share share;
  MediatorProcess m({{"a1", "A", "high"}, {"a2", "A", "low"}}, "", "strict_priority", 1,
                    file_transport(share, "inotify"));
  const auto id = m.vm("a2").vm_id;
  const std::string marker = "/vm" + std::to_string(id);
  auto handles_of_a2 = [&] {
    std::size_t n = 0;
    for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(m.pid()) + "/fd")) {
      std::error_code ec;
      const auto target = fs::read_symlink(fd.path(), ec).string();
      if (!ec && (target.find(marker + "/") != std::string::npos || target.ends_with(marker))) ++n;
    }
    return n;
  };
  ASSERT_TRUE(eventually([&] { return handles_of_a2() == 7; })) << handles_of_a2();
  auto r = run_command(program("vgpu-admin").string() + " --db " + m.db().string() +
                       " --yes remove-vm a2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(eventually([&] { return handles_of_a2() == 0; })) << handles_of_a2();
  auto client = open_spool(share, m.vm("a1").vm_id);
  EXPECT_EQ(client.run("noop", {}).status, sdk::Status::ok) << "the others are still served";
}
