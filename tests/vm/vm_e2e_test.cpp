// End-to-end in real VMs: QEMU 7.2 with vgpu-stub boots the Debian test guest, whose statically
// linked vgpu-client reads its identity from the device and talks to a real vgpu-mediator on
// the host (TCP over slirp, or the file transport over a 9p share). Skips when QEMU or the guest
// image is not built (scripts/prepare-vm-tests.sh).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "client.hpp"
#include "guest_vm.hpp"
#include "mediator_process.hpp"
#include "vgpu/protocol/ring.hpp"

namespace vgpu::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr auto kGuestLimit = std::chrono::seconds(180);  // TCG, several guests on 2 cores

class VmEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    artifacts_ = VmArtifacts::find();
    if (auto why = artifacts_.missing()) GTEST_SKIP() << *why;
    work_ = std::filesystem::temp_directory_path() /
            ("vgpu-vm-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(work_);
    std::filesystem::create_directories(work_);
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(work_);
  }

  // The -device value vgpu-admin gives for a VM, with a fresh token (as the VM-start hook does).
  static std::string device_for(const MediatorProcess& m, const std::string& vm) {
    auto r = run_command(program("vgpu-admin").string() + " --db " + m.db().string() +
                         " device-args " + vm + " --rotate-token --yes --json 2>/dev/null");
    if (r.exit_code != 0) throw std::runtime_error("device-args " + vm + ": " + r.output);
    return json::parse(r.output).at("device");
  }

  static json db_record(const MediatorProcess& m, const std::string& vm) {
    auto r = run_command(program("vgpu-admin").string() + " --db " + m.db().string() + " show-vm " +
                         vm + " --json");
    return json::parse(r.output);
  }

  static std::string token_of(const std::string& device) {
    const auto at = device.find("token=");
    return at == std::string::npos ? "" : device.substr(at + 6, 32);
  }

  std::unique_ptr<GuestVm> boot(GuestOptions options) {
    return std::make_unique<GuestVm>(artifacts_, std::move(options), work_);
  }

  // The JSON line a guest's `vgpu-client --json` printed that has `key`.
  static json json_line(const std::string& output, const std::string& key) {
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);)
      if (line.starts_with("{") && line.find("\"" + key + "\"") != std::string::npos)
        return json::parse(line);
    throw std::runtime_error("no JSON line with '" + key + "' in:\n" + output);
  }

  VmArtifacts artifacts_;
  std::filesystem::path work_;
};

// Guest shell: writes one original-protocol request.txt line into `dir`, waits up to 30 s for
// response.txt and prints it.
std::string compat_request(const std::string& dir, const std::string& line) {
  return "echo '" + line + "' > " + dir + "/request.txt && i=0; while [ ! -e " + dir +
         "/response.txt ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; cat " + dir +
         "/response.txt";
}

std::string describe(const GuestRun& run) {
  return "guest console:\n" + run.console;
}

// One VM's counter from the mediator's statistics; 0 before the VM has sent anything.
int vm_stat(const json& stats, const std::string& vm_id, const std::string& counter) {
  const auto& vms = stats.at("vms");
  return vms.contains(vm_id) ? vms.at(vm_id).value(counter, 0) : 0;
}

// 1. The device shows the guest exactly what the DB holds.
TEST_F(VmEndToEnd, InfoInTheGuestPrintsWhatTheDbHolds) {
  MediatorProcess m({{"guest-b", "B", "medium"}, {"guest-a", "A", "low"}});
  for (const std::string name : {"guest-b", "guest-a"}) {
    auto vm = boot({name, device_for(m, name), false, {}, "vgpu-client --json info"});
    const auto run = vm->finish(kGuestLimit);
    ASSERT_TRUE(run.finished) << describe(run);
    ASSERT_EQ(run.script_status, 0) << describe(run);
    const auto shown = json_line(run.output, "vm_id");
    const auto db = db_record(m, name);
    EXPECT_EQ(shown.at("vm_id"), db.at("vm_id")) << name;
    EXPECT_EQ(shown.at("pool"), db.at("pool")) << name;
    EXPECT_EQ(shown.at("priority"), db.at("priority")) << name;
    EXPECT_EQ(shown.at("has_token"), true) << name;
  }
}

// 2. Over TCP (slirp: the host is 10.0.2.2), authenticated with the token from the device.
TEST_F(VmEndToEnd, GuestRunsJobsOverTcpWithTheTokenFromTheDevice) {
  MediatorProcess m({{"guest-tcp", "A", "high"}});
  const auto device = device_for(m, "guest-tcp");
  const auto port = std::to_string(m.port());
  const std::string client = "vgpu-client --host 10.0.2.2 --port " + port + " --json ";
  auto vm = boot({"guest-tcp",
                  device,
                  true,
                  {},
                  client + "run vector_add --n 4099 --seed 7 && " + client +
                      "run reduce_sum --n 100000 --seed 3 && " + client + "--vm-id 999 --token " +
                      std::string(32, 'f') + " run noop; echo forged=$?"});
  const auto run = vm->finish(kGuestLimit);
  ASSERT_TRUE(run.finished) << describe(run);

  // The same jobs from the host, as the same VM: the guest's results must match them.
  const auto& who = m.vm("guest-tcp");
  auto host = guest::Client::connect("127.0.0.1", m.port(), who.vm_id, token_of(device));
  const auto expected_add = host.run("vector_add", {{"n", "4099"}, {"seed", "7"}});
  const auto expected_sum = host.run("reduce_sum", {{"n", "100000"}, {"seed", "3"}});
  auto sum_of = [](const guest::RunResult& r) {
    double s = 0;
    for (std::size_t i = 0; i < r.outputs[0].size() / 4; ++i) {
      float v;
      std::memcpy(&v, r.outputs[0].data() + 4 * i, 4);
      s += v;
    }
    return s;
  };

  std::istringstream lines(run.output);
  std::vector<json> results;
  for (std::string line; std::getline(lines, line);)
    if (line.starts_with("{\"op\"")) results.push_back(json::parse(line));
  ASSERT_EQ(results.size(), 2u) << describe(run);
  EXPECT_EQ(results[0].at("status"), "ok");
  EXPECT_EQ(results[0].at("values"), 4099);
  EXPECT_NEAR(results[0].at("sum").get<double>(), sum_of(expected_add),
              1e-4 * std::abs(sum_of(expected_add)) + 1e-3);
  EXPECT_EQ(results[1].at("status"), "ok");
  EXPECT_NEAR(results[1].at("sum").get<double>(), sum_of(expected_sum),
              1e-4 * std::abs(sum_of(expected_sum)) + 1e-3);
  EXPECT_EQ(results[0].at("vm_id"), who.vm_id);
  EXPECT_EQ(results[0].at("priority"), "high");
  // Claiming another identity without its token is refused (exit 4: refused).
  EXPECT_NE(run.output.find("forged=4"), std::string::npos) << describe(run);
}

// 2b. The output comes back through the VM's shared memory: the vgpu-stub's BAR2 in the guest,
// the same file the mediator maps on the host. The host reads the guest's result in that file.
// The request and the result pass through the rings at the end of that memory (nudged: neither
// side polls), which the host sees in the file too.
TEST_F(VmEndToEnd, GuestGetsItsOutputThroughTheDevicesSharedMemory) {
  const auto shm = work_ / "shm";
  std::filesystem::create_directories(shm);
  MediatorProcess m({{"guest-shm", "A", "high"}}, "", "strict_priority", 1,
                    "    shared_memory_dir: " + shm.string() + "\n    shared_memory_mb: 16\n");
  const auto device = device_for(m, "guest-shm");
  const auto& who = m.vm("guest-shm");
  const auto region = shm / ("vm" + std::to_string(who.vm_id));
  const std::string client =
      "vgpu-client --host 10.0.2.2 --port " + std::to_string(m.port()) + " --json ";
  GuestOptions options{
      "guest-shm", device, true, {}, client + "--rings run vector_add --n 4099 --seed 7"};
  options.shared_memory = region;
  auto vm = boot(options);
  const auto run = vm->finish(kGuestLimit);
  ASSERT_TRUE(run.finished) << describe(run);
  ASSERT_EQ(run.script_status, 0) << describe(run);
  const auto placed = json_line(run.output, "shared_memory");
  EXPECT_NE(placed.at("shared_memory").get<std::string>().find("resource2"), std::string::npos)
      << "the guest maps the device's BAR2: " << placed.dump();
  EXPECT_EQ(placed.at("bytes"), 4099 * 4);
  EXPECT_EQ(placed.at("rings"), true) << placed.dump();
  EXPECT_EQ(json_line(run.output, "op").at("values"), 4099);

  // What the guest received is in the region's file on the host, and equals the result the
  // same job gives over the socket.
  auto host = guest::Client::connect("127.0.0.1", m.port(), who.vm_id, token_of(device));
  const auto expected = host.run("vector_add", {{"n", "4099"}, {"seed", "7"}});
  ASSERT_EQ(expected.outputs.size(), 1u);
  std::ifstream file(region, std::ios::binary);
  std::vector<std::uint8_t> bytes(expected.outputs[0].size());
  file.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  EXPECT_EQ(bytes, expected.outputs[0]);
  // The guest's SUBMIT and its RESULT went through the rings: their heads moved (u64 at the
  // start of each ring, little-endian as the x86 guest wrote it).
  const auto rings = *wire::rings_offset_for(16u << 20);
  for (const std::uint64_t ring : {rings, rings + wire::kRingBytes}) {
    std::uint64_t head = 0;
    file.seekg(static_cast<std::streamoff>(ring));
    file.read(reinterpret_cast<char*>(&head), sizeof head);
    EXPECT_GT(head, wire::kHeaderSize) << "ring at " << ring;
  }
}

// 3. The file transport through a 9p share of the VM's own spool directory.
TEST_F(VmEndToEnd, GuestUsesTheFileTransportOverA9pShare) {
  const auto root = work_ / "spool";
  MediatorProcess m({{"guest-file", "A", "medium"}}, "", "strict_priority", 1,
                    "  - plugin: file\n    root: " + root.string() + "\n    detect: inotify\n");
  const auto device = device_for(m, "guest-file");
  const auto id = std::to_string(m.vm("guest-file").vm_id);
  const auto dir = "/mnt/vgpu/vm" + id;
  // v2 spool through vgpu-client, then the original request.txt protocol written by hand.
  const std::string script = mount_share("vgpu", dir) + " && vgpu-client --transport file --json " +
                             "run saxpy --n 5000 --seed 11 -p alpha=2 && " +
                             compat_request(dir, "A:1:" + id + ":VECTOR_ADD");
  auto vm = boot({"guest-file", device, false, {{root / ("vm" + id), "vgpu"}}, script});
  const auto run = vm->finish(kGuestLimit);
  ASSERT_TRUE(run.finished) << describe(run);
  ASSERT_EQ(run.script_status, 0) << describe(run);
  const auto spool = json_line(run.output, "op");
  EXPECT_EQ(spool.at("status"), "ok");
  EXPECT_EQ(spool.at("values"), 5000);
  EXPECT_EQ(spool.at("vm_id").get<std::uint32_t>(), m.vm("guest-file").vm_id);
  EXPECT_NE(run.output.find("OK vector_add"), std::string::npos) << describe(run);
  EXPECT_EQ(vm_stat(m.stats(), id, "done"), 2) << m.stats().dump();
}

// 4. Five VMs in two pools and all three priorities against one mediator with one CPU worker:
// the execution order follows strict_priority (priority order inside a pool, pools taking
// turns), and a VM that writes a forged identity into the shared directory is refused.
TEST_F(VmEndToEnd, SeveralVmsAreServedInPolicyOrderAndAForgerIsRefused) {
  const auto root = work_ / "spool";
  const auto ctl = work_ / "ctl";
  std::filesystem::create_directories(ctl);
  const std::vector<TestVm> guests = {{"a-high", "A", "high"},
                                      {"a-medium", "A", "medium"},
                                      {"a-low", "A", "low"},
                                      {"b-high", "B", "high"},
                                      {"b-low", "B", "low"}};
  auto vms = guests;
  vms.push_back({"forger", "B", "low"});
  vms.push_back({"blocker", "A", "high"});
  MediatorProcess m(vms, "", "strict_priority", 1,
                    "  - plugin: file\n    root: " + root.string() + "\n    detect: inotify\n");
  const auto port = std::to_string(m.port());

  // Every guest waits at a gate (a file on a read-only share) so that all their jobs arrive
  // while the single worker is busy with the host's blocker; then the policy alone orders them.
  std::vector<std::unique_ptr<GuestVm>> running;
  for (const auto& g : guests) {
    const std::string script = mount_share("ctl", "/mnt/ctl") +
                               " && echo at-gate && while [ ! -e /mnt/ctl/go ]; do sleep 0.05; "
                               "done && vgpu-client --host 10.0.2.2 --port " +
                               port + " --json run spin -p us=300000";
    running.push_back(boot({g.name, device_for(m, g.name), true, {{ctl, "ctl"}}, script}));
  }
  const auto forger_id = std::to_string(m.vm("forger").vm_id);
  const std::string forger_dir = "/mnt/vgpu/vm" + forger_id;
  // The forger is B/low and claims high priority in the original request format.
  auto forger = boot({"forger",
                      device_for(m, "forger"),
                      false,
                      {{root / ("vm" + forger_id), "vgpu"}},
                      mount_share("vgpu", forger_dir) + " && " +
                          compat_request(forger_dir, "B:2:" + forger_id + ":NOOP")});

  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& vm : running)
          if (!vm->console_contains("at-gate")) return false;
        return true;
      },
      kGuestLimit))
      << "not every guest reached the gate";

  const auto& blocker = m.vm("blocker");
  std::thread block([&] {
    auto c = guest::Client::connect("127.0.0.1", m.port(), blocker.vm_id, blocker.token);
    c.run("spin", {{"us", "10000000"}});
  });
  const auto blocker_key = std::to_string(blocker.vm_id);
  ASSERT_TRUE(eventually([&] { return vm_stat(m.stats(), blocker_key, "running") == 1; }));
  std::ofstream(ctl / "go") << "go\n";

  // Every guest job must be queued while the blocker still runs, so that the policy alone
  // decides their order; the order itself is the mediator's dispatch sequence in each result.
  std::vector<std::string> guest_ids;
  for (const auto& g : guests) guest_ids.push_back(std::to_string(m.vm(g.name).vm_id));
  bool all_queued_behind_blocker = false;
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (!all_queued_behind_blocker && vm_stat(m.stats(), blocker_key, "running") == 1 &&
         std::chrono::steady_clock::now() < end) {
    const auto stats = m.stats();
    int queued = 0;
    for (const auto& id : guest_ids) queued += vm_stat(stats, id, "queued");
    all_queued_behind_blocker =
        queued == static_cast<int>(guests.size()) && vm_stat(stats, blocker_key, "running") == 1;
    std::this_thread::sleep_for(10ms);
  }
  block.join();
  std::vector<std::pair<std::uint64_t, std::string>> sequence;
  for (auto& vm : running) {
    const auto run = vm->finish(kGuestLimit);
    ASSERT_TRUE(run.finished) << vm->name() << " " << describe(run);
    EXPECT_EQ(run.script_status, 0) << vm->name() << " " << describe(run);
    const auto result = json_line(run.output, "op");
    EXPECT_EQ(result.at("status"), "ok") << vm->name();
    sequence.emplace_back(result.at("dispatch_sequence").get<std::uint64_t>(), vm->name());
  }
  std::sort(sequence.begin(), sequence.end());
  std::vector<std::string> order;
  for (const auto& [seq, name] : sequence) order.push_back(name);
  ASSERT_TRUE(all_queued_behind_blocker)
      << "the guests' jobs did not all arrive while the blocker ran; order: "
      << ::testing::PrintToString(order);

  auto position = [&](const std::string& n) {
    return std::find(order.begin(), order.end(), n) - order.begin();
  };
  const auto seen = ::testing::PrintToString(order);
  EXPECT_LT(position("a-high"), position("a-medium")) << seen;
  EXPECT_LT(position("a-medium"), position("a-low")) << seen;
  EXPECT_LT(position("b-high"), position("b-low")) << seen;
  // Pools take turns while both have work: the first four alternate between A and B.
  for (std::size_t i = 1; i < 4; ++i) EXPECT_NE(order[i][0], order[i - 1][0]) << seen;

  const auto forged = forger->finish(kGuestLimit);
  ASSERT_TRUE(forged.finished) << describe(forged);
  EXPECT_NE(forged.output.find("ERROR"), std::string::npos) << describe(forged);
  EXPECT_NE(forged.output.find("priority"), std::string::npos) << describe(forged);
  const auto stats = m.stats();
  EXPECT_EQ(vm_stat(stats, forger_id, "done") + vm_stat(stats, forger_id, "running"), 0)
      << "the forged request must not run: " << stats.dump();
}

// The XCP-ng path without Xen: the VM-start hook stores the device argument in the VM's
// other-config (fake xe, tests/fakes), the device-model wrapper maps the domid to the VM
// (fake xenstore-read) and appends -device to the real QEMU, and the guest sees its identity
// and authenticates with the token the hook issued.
TEST_F(VmEndToEnd, XcpngStartHookAndQemuWrapperGiveTheGuestItsDevice) {
  MediatorProcess m({{"xcp-vm", "B", "high"}});
  const auto state = work_ / "xcp-state";
  const auto xcp = work_ / "xcpng";  // dom0's root-only folder, /var/lib/vgpu/xcpng
  std::filesystem::create_directories(state);
  std::ofstream(state / "xenstore") << "/local/domain/7/vm=/vm/uuid-xcp-vm\n";
  const std::string env =
      "VGPU_FAKE_LOG=" + (work_ / "calls.log").string() + " VGPU_FAKE_STATE=" + state.string() +
      " VGPU_XCPNG_STATE=" + xcp.string() + " PATH=" VGPU_SOURCE_DIR "/tests/fakes:$PATH";
  const auto hook = run_command(env + " VGPU_DB=" + m.db().string() +
                                " VGPU_ADMIN=" + program("vgpu-admin").string() +
                                " " VGPU_SOURCE_DIR
                                "/hypervisor/xcpng/vgpu-vm-startup.sh "
                                "-reason start -vmuuid uuid-xcp-vm");
  ASSERT_EQ(hook.exit_code, 0) << hook.output;
  std::ifstream token_in(xcp / "uuid-xcp-vm.token");
  const std::string token((std::istreambuf_iterator<char>(token_in)), {});
  ASSERT_EQ(token.size(), 32u);

  // xenopsd runs the device-model wrapper as `<wrapper> <domid> --syslog <QEMU args>`; ours
  // execs the stock wrapper. Its stand-in does what the stock one does with the arguments (logs
  // them, drops the domid and --syslog) and, since this QEMU has no Xen, also drops -xen-domid
  // and runs a plain TCG machine.
  const auto stock = work_ / "stock-qemu-wrapper";
  std::ofstream(stock) << "#!/bin/sh\nshift 2\necho \"Arguments: $*\"\n"
                       << "[ \"$1\" = -xen-domid ] && shift 2\nexec " << artifacts_.qemu.string()
                       << " \"$@\"\n";
  std::ofstream(work_ / "wrapper.conf")
      << "stock=" << stock.string() << "\nstate=" << xcp.string() << "\n";
  const auto launcher = work_ / "device-model";
  std::ofstream(launcher) << "#!/bin/sh\nexport " << env
                          << " VGPU_XCPNG_WRAPPER_CONF=" << (work_ / "wrapper.conf").string()
                          << "\nexec " VGPU_SOURCE_DIR "/hypervisor/xcpng/vgpu-qemu-wrapper "
                          << "7 --syslog -xen-domid 7 \"$@\"\n";
  for (const auto& f : {stock, launcher})
    std::filesystem::permissions(f, std::filesystem::perms::owner_all);
  auto xcp_artifacts = artifacts_;
  xcp_artifacts.qemu = launcher;

  const std::string script = "vgpu-client --json info && vgpu-client --host 10.0.2.2 --port " +
                             std::to_string(m.port()) + " --json run noop";
  GuestVm vm(xcp_artifacts, {"xcp-vm", std::nullopt, true, {}, script}, work_);
  const auto run = vm.finish(kGuestLimit);
  ASSERT_TRUE(run.finished) << describe(run);
  ASSERT_EQ(run.script_status, 0) << describe(run);
  const auto shown = json_line(run.output, "has_token");
  const auto db = db_record(m, "xcp-vm");
  EXPECT_EQ(shown.at("vm_id"), db.at("vm_id"));
  EXPECT_EQ(shown.at("pool"), "B");
  EXPECT_EQ(shown.at("priority"), "high");
  EXPECT_EQ(shown.at("has_token"), true) << "the device read the token from its file";
  EXPECT_EQ(json_line(run.output, "op").at("status"), "ok") << "and the mediator accepted it";
  EXPECT_NE(run.console.find("vgpu-qemu-wrapper: domain 7 (VM uuid-xcp-vm): adding vgpu-stub"),
            std::string::npos)
      << describe(run);
  EXPECT_NE(run.console.find("Arguments: "), std::string::npos) << describe(run);
  EXPECT_EQ(run.console.find(token), std::string::npos)
      << "the token is in no log, not even the stock wrapper's list of arguments";
}

// 5. No device, no identity: vgpu-client says so.
TEST_F(VmEndToEnd, WithoutTheDeviceTheClientSaysThereIsNone) {
  auto vm = boot({"no-device",
                  std::nullopt,
                  false,
                  {},
                  "vgpu-client info; echo info=$?; vgpu-client run noop; echo run=$?"});
  const auto run = vm->finish(kGuestLimit);
  ASSERT_TRUE(run.finished) << describe(run);
  EXPECT_NE(run.output.find("no vgpu-stub device"), std::string::npos) << describe(run);
  EXPECT_NE(run.output.find("info=3"), std::string::npos) << describe(run);
  EXPECT_NE(run.output.find("run=3"), std::string::npos) << describe(run);
}

// 7. An unmodified CUDA program (built by nvcc, static cudart) in a guest that has no GPU and no
// NVIDIA driver, with libvgpu-cuda as its libcuda.so.1: the library reads the VM's identity
// from the vgpu-stub and authenticates with its token; this mediator's executor has no GPU, so
// the program is told there is no device, and why. (On the GPU host the same library runs the
// program: tests/remote_cuda/gpu_samples_test.sh.)
TEST_F(VmEndToEnd, ACudaProgramInTheGuestReachesTheMediatorAsItsVm) {
  const auto library = build_dir() / "lib/vgpu-cuda/libcuda.so.1";
  const auto sample = program("cuda-sample-device_query");
  if (!std::filesystem::exists(library) || !std::filesystem::exists(sample))
    GTEST_SKIP() << "built without the CUDA toolkit: no libvgpu-cuda or sample program";
  // The guest is busybox only: the program, the library and the C and C++ runtimes they load
  // come over a 9p share, and the program starts through the dynamic loader from there.
  const auto share = work_ / "cuda";
  std::filesystem::create_directories(share);
  for (const auto& file : {library, sample}) {
    std::filesystem::copy_file(file, share / file.filename());
    const auto deps = run_command("ldd " + file.string());
    std::istringstream lines(deps.output);
    for (std::string line; std::getline(lines, line);) {
      const auto slash = line.find('/');
      if (slash == std::string::npos) continue;
      const std::string path = line.substr(slash, line.find(' ', slash) - slash);
      const auto target = share / std::filesystem::path(path).filename();
      if (!std::filesystem::exists(target)) std::filesystem::copy_file(path, target);
    }
  }
  MediatorProcess m({{"guest-cuda", "A", "high"}});
  const auto device = device_for(m, "guest-cuda");
  const std::string script =
      mount_share("cuda", "/mnt/cuda") +
      " && echo nvidia-devices=$(ls /dev | grep -c nvidia); LD_LIBRARY_PATH=/mnt/cuda "
      "VGPU_HOST=10.0.2.2 VGPU_PORT=" +
      std::to_string(m.port()) +
      " /mnt/cuda/ld-linux-x86-64.so.2 /mnt/cuda/cuda-sample-device_query; echo cuda-exit=$?";
  auto vm = boot({"guest-cuda", device, true, {{share, "cuda"}}, script});
  const auto run = vm->finish(kGuestLimit);
  ASSERT_TRUE(run.finished) << describe(run);
  EXPECT_NE(run.output.find("cudaGetDeviceCount(&count) failed: cudaErrorNoDevice"),
            std::string::npos)
      << describe(run);
  // Authenticated as the VM (a wrong identity would say "unauthenticated"), then refused by an
  // executor without remote CUDA.
  EXPECT_NE(run.output.find("vgpu-cuda: the mediator refused a CUDA session"), std::string::npos)
      << describe(run);
  EXPECT_NE(run.output.find("cuda.open"), std::string::npos) << describe(run);
  EXPECT_NE(run.output.find("cuda-exit=1"), std::string::npos) << describe(run);
  EXPECT_NE(run.output.find("nvidia-devices=0"), std::string::npos) << describe(run);
  EXPECT_EQ(run.output.find("unauthenticated"), std::string::npos) << describe(run);
}

}  // namespace
}  // namespace vgpu::testing
