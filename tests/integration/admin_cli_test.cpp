// vgpu-admin as operators run it: every command's happy and error paths against a real SQLite
// file, the hypervisor adapters against stand-ins for xe/virsh/xl that record their calls
// (tests/fakes), the XCP-ng start hook, iommu-check on prepared sysfs trees and on this machine,
// and concurrent use with a running mediator.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "client.hpp"
#include "mediator_process.hpp"
#include "vgpu/sdk/job.hpp"

using namespace vgpu::testing;
namespace fs = std::filesystem;

namespace {

class AdminCli : public ::testing::Test {
 protected:
  fs::path dir =
      fs::temp_directory_path() / ("vgpu-admin-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::path db = dir / "vgpu.db";
  fs::path log = dir / "calls.log";
  fs::path state = dir / "state";
  fs::path xcp = dir / "xcpng";        // vgpu-admin apply's root-only folder on XCP-ng
  fs::path libvirt = dir / "libvirt";  // and on a libvirt host

  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(state);
    std::ofstream(log).close();
  }
  void TearDown() override { fs::remove_all(dir); }

  // Runs vgpu-admin with the fakes first on PATH; stdin is not a terminal, as in scripts.
  CommandResult admin(const std::string& args) {
    return run_command(
        "VGPU_FAKE_LOG=" + log.string() + " VGPU_FAKE_STATE=" + state.string() +
        " VGPU_XCPNG_STATE=" + xcp.string() + " VGPU_LIBVIRT_STATE=" + libvirt.string() +
        " PATH=" VGPU_SOURCE_DIR "/tests/fakes:$PATH " + program("vgpu-admin").string() + " --db " +
        db.string() + " " + args + " </dev/null");
  }
  nlohmann::json json_of(const std::string& args) {
    auto r = admin(args + " --json 2>/dev/null");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output);
  }
  std::vector<std::string> calls() {
    std::ifstream in(log);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }
  void write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  void register_three() {
    ASSERT_EQ(admin("register-vm --vm-uuid=u-1 --name=web --pool=A --priority=high").exit_code, 0);
    ASSERT_EQ(admin("register-vm --vm-uuid u-2 --name db --pool B --priority low").exit_code, 0);
    ASSERT_EQ(admin("register-vm --vm-uuid u-3 --name web --pool B").exit_code, 0);
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_F(AdminCli, RegisterWithTheOriginalFlagFormsAssignsTheLowestFreeVmId) {
  auto r = admin("register-vm --vm-uuid=u-1 --pool=A --priority=high");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "registered u-1 as vm_id 1 in pool A with priority high"));
  ASSERT_EQ(admin("register-vm --vm-uuid u-5 --vm-id 3").exit_code, 0);
  EXPECT_TRUE(contains(admin("register-vm --vm-uuid u-2").output, "as vm_id 2"));
  EXPECT_TRUE(contains(admin("register-vm --vm-uuid u-4").output, "as vm_id 4"));
  auto vms = json_of("list-vms");
  ASSERT_EQ(vms.size(), 4u);
  EXPECT_EQ(vms[0]["priority"], "high");
  EXPECT_EQ(vms[1]["priority"], "medium") << "medium is the default";
}

TEST_F(AdminCli, BadInputGivesOneLineAndChangesNothing) {
  register_three();
  const auto before = json_of("list-vms");
  struct Case {
    std::string args, message;
  };
  for (const auto& c :
       std::vector<Case>{{"register-vm --vm-uuid u-9 --vm-id 1", "vm_id"},
                         {"register-vm --vm-uuid u-9 --pool C", "no pool named 'C'"},
                         {"register-vm --vm-uuid u-1", "already registered"},
                         {"set-priority db urgent", "priority must be low, medium or high"},
                         {"set-priority nobody high", "no VM with UUID or name 'nobody'"},
                         {"set-pool db C", "no pool named 'C'"},
                         {"set-vm-id db 1 --yes", "vm_id 1 is already used by u-1"},
                         {"update-vm db --weight 0", "weight must be a number greater than 0"},
                         {"update-vm db", "nothing to change"},
                         {"show-vm web", "ambiguous"}}) {
    auto r = admin(c.args);
    EXPECT_EQ(r.exit_code, 1) << c.args << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, c.message)) << c.args << "\n" << r.output;
    EXPECT_EQ(std::count(r.output.begin(), r.output.end(), '\n'), 1) << r.output;
  }
  EXPECT_EQ(json_of("list-vms"), before);
  EXPECT_EQ(admin("set-priority").exit_code, 2) << "usage errors are 2";
}

TEST_F(AdminCli, AmbiguousNamesListTheCandidatesAndUuidsAlwaysWork) {
  register_three();
  auto r = admin("set-priority web low");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "u-1") && contains(r.output, "u-3")) << r.output;
  ASSERT_EQ(admin("set-priority u-3 low").exit_code, 0);
  EXPECT_EQ(json_of("show-vm u-3")["priority"], "low");
  EXPECT_EQ(json_of("show-vm db")["vm_uuid"], "u-2") << "a unique name works";
}

TEST_F(AdminCli, ListFiltersAndShowVm) {
  register_three();
  EXPECT_EQ(json_of("list-vms --pool B").size(), 2u);
  EXPECT_EQ(json_of("list-vms --pool B --priority low").size(), 1u);
  EXPECT_EQ(json_of("list-vms --priority high")[0]["vm_uuid"], "u-1");
  auto r = admin("show-vm u-1");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "-device vgpu-stub,pool_id=A,priority=high,vm_id=1")) << r.output;
  EXPECT_EQ(admin("list-vms --pool Z").exit_code, 1);
}

TEST_F(AdminCli, UpdateVmChangesSeveralSettingsAndVmIdNeedsConfirmation) {
  register_three();
  auto r = admin("update-vm db --pool A --priority high --weight 2.5 --memory-quota-mb 512");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "next job")) << r.output;
  auto vm = json_of("show-vm db");
  EXPECT_EQ(vm["pool"], "A");
  EXPECT_EQ(vm["priority"], "high");
  EXPECT_EQ(vm["weight"], 2.5);
  EXPECT_EQ(vm["memory_quota_mb"], 512);

  r = admin("set-vm-id db 40");  // no terminal and no --yes
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.output, "restarts") && contains(r.output, "--yes")) << r.output;
  EXPECT_EQ(json_of("show-vm db")["vm_id"], 2);
  r = admin("set-vm-id db 40 --yes");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "restart the VM")) << r.output;
  EXPECT_EQ(json_of("show-vm db")["vm_id"], 40);
}

TEST_F(AdminCli, RemoveVmAsksFirst) {
  register_three();
  EXPECT_EQ(admin("remove-vm db").exit_code, 1);
  EXPECT_EQ(json_of("list-vms").size(), 3u);
  EXPECT_EQ(admin("remove-vm db --yes").exit_code, 0);
  EXPECT_EQ(json_of("list-vms").size(), 2u);
  EXPECT_EQ(admin("remove-vm db --yes").exit_code, 1);
}

TEST_F(AdminCli, PoolsCreateShowWeightAndRemove) {
  register_three();
  ASSERT_EQ(admin("create-pool gpu-big --weight 3 --description 'training'").exit_code, 0);
  EXPECT_EQ(admin("create-pool gpu-big").exit_code, 1);
  auto bad = admin("create-pool 'bad name!'");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(contains(bad.output, "1 to 16 of")) << bad.output;
  auto pools = json_of("list-pools");
  ASSERT_EQ(pools.size(), 3u);
  EXPECT_EQ(pools[1]["name"], "B");
  EXPECT_EQ(pools[1]["vms"], 2);
  EXPECT_EQ(pools[1]["low"], 1);
  auto b = json_of("show-pool B");
  EXPECT_EQ(b["members"].size(), 2u);
  ASSERT_EQ(admin("set-pool-weight B 4").exit_code, 0);
  EXPECT_EQ(json_of("show-pool B")["weight"], 4.0);
  EXPECT_EQ(admin("set-pool-weight B -1").exit_code, 1);
  auto used = admin("remove-pool B");
  EXPECT_EQ(used.exit_code, 1);
  EXPECT_TRUE(contains(used.output, "still has 2 VM(s)")) << used.output;
  EXPECT_EQ(admin("remove-pool gpu-big").exit_code, 0);
  EXPECT_EQ(admin("show-pool gpu-big").exit_code, 1);
}

TEST_F(AdminCli, DevicePinsForVmsAndPoolsAreSetShownAndChecked) {
  register_three();
  EXPECT_TRUE(json_of("show-vm db")["device"].is_null()) << "placed by load unless pinned";
  ASSERT_EQ(admin("update-vm db --device 1").exit_code, 0);
  EXPECT_EQ(json_of("show-vm db")["device"], 1);
  ASSERT_EQ(admin("register-vm --vm-uuid u-4 --name gpu2 --device 2").exit_code, 0);
  EXPECT_EQ(json_of("show-vm gpu2")["device"], 2);
  ASSERT_EQ(admin("update-vm db --device none").exit_code, 0);
  EXPECT_TRUE(json_of("show-vm db")["device"].is_null());
  for (const char* bad : {"64", "-1", "one", "1.5"}) {
    auto r = admin(std::string("update-vm gpu2 --device ") + bad);
    EXPECT_EQ(r.exit_code, 1) << bad;
    EXPECT_TRUE(contains(
        r.output, "device must be a number from 0 to 63, or none, got '" + std::string(bad) + "'"))
        << r.output;
  }
  EXPECT_EQ(json_of("show-vm gpu2")["device"], 2) << "a refused change changes nothing";

  auto set = admin("set-pool-device B 3");
  ASSERT_EQ(set.exit_code, 0) << set.output;
  EXPECT_TRUE(contains(set.output, "pool B: its VMs run on device 3")) << set.output;
  EXPECT_EQ(json_of("show-pool B")["device"], 3);
  EXPECT_EQ(admin("set-pool-device B 99").exit_code, 1);
  auto missing = admin("set-pool-device nope 1");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.output, "no pool named 'nope'")) << missing.output;
  ASSERT_EQ(admin("set-pool-device B none").exit_code, 0);
  EXPECT_TRUE(json_of("show-pool B")["device"].is_null());
}

TEST_F(AdminCli, TokensAreShownOnceStoredHashedAndRotatedOnlyWithConfirmation) {
  register_three();
  auto first = admin("issue-token db");
  ASSERT_EQ(first.exit_code, 0);
  ASSERT_TRUE(std::regex_search(first.output, std::regex("^[0-9a-f]{32}\n"))) << first.output;
  EXPECT_TRUE(contains(first.output, "shown only now")) << first.output;
  EXPECT_TRUE(json_of("show-vm db")["has_token"]);
  EXPECT_EQ(admin("issue-token db").exit_code, 1) << "a second issue would lock out the guest";
  EXPECT_EQ(admin("rotate-token db").exit_code, 1);
  auto second = admin("rotate-token db --yes");
  ASSERT_EQ(second.exit_code, 0);
  EXPECT_NE(second.output.substr(0, 32), first.output.substr(0, 32));
  // Only the hash is in the file.
  std::ifstream file(db, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(file)), {});
  EXPECT_FALSE(contains(bytes, second.output.substr(0, 32)));
}

TEST_F(AdminCli, DeviceArgsPrintsTheQemuArgument) {
  register_three();
  auto r = admin("device-args db");
  EXPECT_EQ(r.output, "-device vgpu-stub,pool_id=B,priority=low,vm_id=2\n");
  r = admin("device-args db --rotate-token --yes");
  EXPECT_TRUE(std::regex_match(
      r.output,
      std::regex("-device vgpu-stub,pool_id=B,priority=low,vm_id=2,token=[0-9a-f]{32}\n")))
      << r.output;
}

TEST_F(AdminCli, DbProblemsExitWith3) {
  auto missing = admin("list-vms");
  EXPECT_EQ(missing.exit_code, 3);
  EXPECT_TRUE(contains(missing.output, "cannot open the config DB")) << missing.output;
  write(db, "this is not a database, it is a text file of some length........");
  auto garbage = admin("list-vms");
  EXPECT_EQ(garbage.exit_code, 3);
  EXPECT_TRUE(contains(garbage.output, "not a database")) << garbage.output;
  fs::remove(db);
  register_three();
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  auto newer = admin("list-vms");
  EXPECT_EQ(newer.exit_code, 3);
  EXPECT_TRUE(contains(newer.output, "schema version 99 is newer")) << newer.output;
  ASSERT_EQ(sqlite3_exec(raw, "PRAGMA user_version = 4", nullptr, nullptr, nullptr), SQLITE_OK);
  // Another program holds the write lock past the 5 s busy timeout.
  ASSERT_EQ(sqlite3_exec(raw, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto locked = admin("set-priority db high");
  EXPECT_EQ(locked.exit_code, 3);
  EXPECT_TRUE(contains(locked.output, "locked")) << locked.output;
  sqlite3_exec(raw, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  EXPECT_EQ(json_of("show-vm db")["priority"], "low") << "nothing changed";
}

// ---- hypervisor adapters ---------------------------------------------------------------------

TEST_F(AdminCli, XcpngScanGroupsByPoolAndApplyStoresTheDeviceRootOnly) {
  register_three();
  write(state / "xe-vms", "u-1|web-1|running\nu-2|db-1|halted\nu-x|new-vm|halted\n");
  auto scan = json_of("--hypervisor xcpng scan-vms");
  ASSERT_EQ(scan["vms"].size(), 3u);
  std::map<std::string, nlohmann::json> by_uuid;
  for (auto& v : scan["vms"]) by_uuid[v["vm_uuid"]] = v;
  EXPECT_EQ(by_uuid["u-1"]["pool"], "A");
  EXPECT_EQ(by_uuid["u-1"]["state"], "running");
  EXPECT_EQ(by_uuid["u-2"]["pool"], "B");
  EXPECT_FALSE(by_uuid["u-x"]["registered"]);
  auto text = admin("--hypervisor xcpng scan-vms");
  EXPECT_TRUE(contains(text.output, "pool A:") && contains(text.output, "unregistered:"))
      << text.output;
  std::ofstream(log, std::ios::trunc).close();
  auto r = admin("--hypervisor xcpng apply db");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(calls().empty()) << "apply asks nothing of XAPI: no xe call";
  EXPECT_EQ(read(xcp / "u-2.device"), "vgpu-stub,pool_id=B,priority=low,vm_id=2\n");
  EXPECT_FALSE(fs::exists(xcp / "u-2.token")) << "no token without --rotate-token";
  EXPECT_EQ(fs::status(xcp).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(xcp / "u-2.device").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(json_of("show-vm db")["applied_at"].is_null());

  auto rotated = admin("--hypervisor xcpng apply db --rotate-token --yes");
  ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
  const auto token = read(xcp / "u-2.token");
  EXPECT_TRUE(std::regex_match(token, std::regex("[0-9a-f]{32}"))) << "no newline: " << token;
  EXPECT_EQ(fs::status(xcp / "u-2.token").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(contains(rotated.output, token)) << "the token is not printed: " << rotated.output;
  EXPECT_TRUE(contains(rotated.output, "and its token (root-only)")) << rotated.output;

  ASSERT_EQ(admin("register-vm --vm-uuid ../escape").exit_code, 0);
  auto bad = admin("--hypervisor xcpng apply ../escape");
  EXPECT_EQ(bad.exit_code, 4);
  EXPECT_TRUE(contains(bad.output, "may hold only letters, digits and '-'")) << bad.output;
}

TEST_F(AdminCli, LibvirtApplyAddsOneQemuCommandlineDevice) {
  register_three();
  write(state / "virsh-vms", "u-1|web-1|running\nu-2|db-1|shut off\n");
  auto scan = json_of("--hypervisor libvirt scan-vms");
  ASSERT_EQ(scan["vms"].size(), 2u);
  EXPECT_EQ(scan["vms"][0]["state"].get<std::string>() + scan["vms"][1]["state"].get<std::string>(),
            "runningshut off");
  std::ofstream(log, std::ios::trunc).close();
  ASSERT_EQ(admin("--hypervisor libvirt apply db").exit_code, 0);
  ASSERT_EQ(admin("--hypervisor libvirt set-priority db high").exit_code, 0);
  auto r = admin("--hypervisor libvirt apply db");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto c = calls();
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0], "virsh dumpxml --inactive u-2 ");
  EXPECT_TRUE(std::regex_match(c[1], std::regex("virsh define .*/vgpu-admin-[0-9]+-u-2\\.xml ")))
      << c[1];
  std::ifstream in(state / "u-2.xml");
  std::string xml((std::istreambuf_iterator<char>(in)), {});
  EXPECT_TRUE(contains(xml, "xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'")) << xml;
  EXPECT_TRUE(contains(
      xml, "<qemu:arg value='vgpu-stub,pool_id=B,priority=high,vm_id=2,bus=pcie.0,addr=0x1e'/>"))
      << xml;
  EXPECT_FALSE(contains(xml, "priority=low")) << "the earlier argument was replaced:\n" << xml;
  std::size_t devices = 0;
  for (auto at = xml.find("vgpu-stub,"); at != std::string::npos;
       at = xml.find("vgpu-stub,", at + 1))
    ++devices;
  EXPECT_EQ(devices, 1u) << xml;
  EXPECT_FALSE(contains(xml, "vgpu-token")) << "no token issued, none named:\n" << xml;

  // With a token: it goes to the root-only state folder, never into the domain XML (which any
  // read-only libvirt user can read); the domain names the runtime copy the hook makes.
  auto rotated = admin("--hypervisor libvirt apply db --rotate-token --yes");
  ASSERT_EQ(rotated.exit_code, 0) << rotated.output;
  const auto token = read(libvirt / "u-2.token");
  EXPECT_TRUE(std::regex_match(token, std::regex("[0-9a-f]{32}"))) << token;
  EXPECT_EQ(fs::status(libvirt / "u-2.token").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(fs::status(libvirt).permissions() & fs::perms::all, fs::perms::owner_all);
  std::ifstream again(state / "u-2.xml");
  xml.assign((std::istreambuf_iterator<char>(again)), {});
  EXPECT_FALSE(contains(xml, token)) << xml;
  EXPECT_FALSE(contains(rotated.output, token)) << rotated.output;
  EXPECT_TRUE(
      contains(xml, "<qemu:arg value='secret,id=vgpu-token,file=/run/vgpu/libvirt/u-2.token'/>"))
      << xml;
  EXPECT_TRUE(contains(xml, ",vm_id=2,bus=pcie.0,addr=0x1e,token-secret=vgpu-token'/>")) << xml;
  std::size_t secrets = 0;
  for (auto at = xml.find("id=vgpu-token"); at != std::string::npos;
       at = xml.find("id=vgpu-token", at + 1))
    ++secrets;
  EXPECT_EQ(secrets, 1u) << "the earlier secret was replaced:\n" << xml;
  ASSERT_EQ(admin("--hypervisor libvirt apply db").exit_code, 0);
  std::ifstream third(state / "u-2.xml");
  xml.assign((std::istreambuf_iterator<char>(third)), {});
  EXPECT_TRUE(contains(xml, "token-secret=vgpu-token")) << "the stored token still applies:\n"
                                                        << xml;
  ASSERT_EQ(admin("register-vm --vm-uuid ../escape").exit_code, 0);
  auto bad = admin("--hypervisor libvirt apply ../escape");
  EXPECT_EQ(bad.exit_code, 4);
  EXPECT_TRUE(contains(bad.output, "may hold only letters, digits and '-'")) << bad.output;
}

TEST_F(AdminCli, NoHypervisorPrintsWhatWouldBeApplied) {
  register_three();
  auto r = admin("--hypervisor none apply u-1");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(contains(r.output, "-device vgpu-stub,pool_id=A,priority=high,vm_id=1")) << r.output;
  EXPECT_TRUE(calls().empty());
  EXPECT_EQ(admin("--hypervisor hyperv apply u-1").exit_code, 4);
}

// The XCP-ng start path as xenopsd runs it: the vm-pre-start hook stores the device, xenopsd
// calls our device-model wrapper as `<wrapper> <domid> --syslog <QEMU args>`, and the wrapper
// execs the stock wrapper (here a stand-in that prints its arguments) with the device added.
TEST_F(AdminCli, XcpngHooksAndWrapperGiveAVmItsDeviceWithoutShowingTheToken) {
  register_three();
  write(state / "xenstore", "/local/domain/7/vm=/vm/u-1\n/local/domain/8/vm=/vm/u-2\n");
  write(dir / "stock-wrapper", "#!/bin/sh\nfor a in \"$@\"; do echo \"$a\"; done\n");
  fs::permissions(dir / "stock-wrapper", fs::perms::owner_all);
  write(dir / "wrapper.conf",
        "stock=" + (dir / "stock-wrapper").string() + "\nstate=" + xcp.string() + "\n");
  const std::string env = "VGPU_FAKE_LOG=" + log.string() + " VGPU_FAKE_STATE=" + state.string() +
                          " VGPU_XCPNG_STATE=" + xcp.string() +
                          " PATH=" VGPU_SOURCE_DIR "/tests/fakes:$PATH";
  const std::string hooks = VGPU_SOURCE_DIR "/hypervisor/xcpng/";
  auto hook = run_command(env + " VGPU_DB=" + db.string() +
                          " VGPU_ADMIN=" + program("vgpu-admin").string() + " " + hooks +
                          "vgpu-vm-startup.sh -reason start -vmuuid u-1");
  ASSERT_EQ(hook.exit_code, 0) << hook.output;
  EXPECT_TRUE(calls().empty()) << "no XAPI call inside the start";
  const auto token = read(xcp / "u-1.token");
  ASSERT_EQ(token.size(), 32u);
  EXPECT_FALSE(contains(hook.output, token)) << "the hook's output (logged) holds no token";
  EXPECT_TRUE(json_of("show-vm u-1")["has_token"]);
  EXPECT_EQ(run_command(env + " VGPU_DB=" + db.string() +
                        " VGPU_ADMIN=" + program("vgpu-admin").string() + " " + hooks +
                        "vgpu-vm-startup.sh -reason start -vmuuid u-x")
                .exit_code,
            0)
      << "an unregistered VM starts untouched";
  EXPECT_FALSE(fs::exists(xcp / "u-x.device"));

  // What reached the stock wrapper, one argument per line, and what our wrapper logged.
  const std::string wrapper = env + " VGPU_XCPNG_WRAPPER_CONF=" + (dir / "wrapper.conf").string() +
                              " " + hooks + "vgpu-qemu-wrapper";
  auto start = [&](const std::string& args) {
    auto r = run_command(wrapper + " " + args);
    EXPECT_EQ(r.exit_code, 0) << args << ": " << r.output;
    std::string argv, logged;
    std::istringstream lines(r.output);
    for (std::string line; std::getline(lines, line);)
      (line.starts_with("vgpu-qemu-wrapper:") ? logged : argv) += line + "\n";
    return std::pair{argv, logged};
  };
  auto [argv, logged] = start("7 --syslog -xen-domid 7 -machine xenfv");
  EXPECT_EQ(argv,
            "7\n--syslog\n-xen-domid\n7\n-machine\nxenfv\n-device\nvgpu-stub,pool_id=A,priority="
            "high,vm_id=1,token-file=" +
                (xcp / "u-1.token").string() + ",addr=0x1e\n")
      << "the stock wrapper's arguments in their order, the device after them";
  EXPECT_TRUE(contains(logged,
                       "domain 7 (VM u-1): adding vgpu-stub,pool_id=A,priority=high,vm_id=1 "
                       "at PCI slot 0x1e, token from its file"))
      << logged;
  EXPECT_FALSE(contains(argv + logged, token)) << "the token is on no command line and in no log";

  // A VM without a stored device, a domain XenStore does not know, no domid at all: the stock
  // wrapper gets exactly the arguments xenopsd gave.
  for (const std::string args :
       {"8 --syslog -xen-domid 8 -m 512", "9 --syslog -xen-domid 9 -m 512", "--syslog -m 512"}) {
    std::string expected;
    for (auto* p = args.c_str(); *p; ++p) expected += *p == ' ' ? '\n' : *p;
    EXPECT_EQ(start(args).first, expected + "\n") << args;
  }
  // A device file that is not what apply writes, or that others may change, is not used.
  write(xcp / "u-2.device", "e1000,netdev=x\n");
  fs::permissions(xcp / "u-2.device", fs::perms::owner_read | fs::perms::owner_write);
  std::tie(argv, logged) = start("8 --syslog -xen-domid 8");
  EXPECT_EQ(argv, "8\n--syslog\n-xen-domid\n8\n");
  EXPECT_TRUE(contains(logged, "does not hold a vgpu-stub device")) << logged;
  write(xcp / "u-2.device", "vgpu-stub,pool_id=B,priority=low,vm_id=2\n");
  fs::permissions(xcp / "u-2.device", fs::perms::others_write, fs::perm_options::add);
  std::tie(argv, logged) = start("8 --syslog -xen-domid 8");
  EXPECT_EQ(argv, "8\n--syslog\n-xen-domid\n8\n");
  EXPECT_TRUE(contains(logged, "is not a root-only file")) << logged;

  // Shared memory: the wrapper makes the file the mediator maps, before QEMU opens it.
  write(dir / "wrapper.conf",
        "stock=" + (dir / "stock-wrapper").string() + "\nstate=" + xcp.string() +
            "\nshared_memory_mb=64\nshared_memory_dir=" + (dir / "shm").string() +
            "\nshared_memory_group=root\n");
  std::tie(argv, logged) = start("7 --syslog -xen-domid 7");
  EXPECT_TRUE(contains(argv, "memory-backend-file,id=vgpu-shm,mem-path=" +
                                 (dir / "shm" / "vm1").string() + ",size=64M,share=on\n"))
      << argv;
  EXPECT_TRUE(
      contains(argv, "token-file=" + (xcp / "u-1.token").string() + ",memdev=vgpu-shm,addr=0x1e"))
      << argv;
  EXPECT_FALSE(contains(argv, "secret")) << "XCP-ng's QEMU has no secret object: " << argv;
  EXPECT_EQ(fs::status(dir / "shm" / "vm1").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::group_write);

  // Migration is refused while the VM has a device; other VMs migrate.
  auto migrate =
      run_command(env + " " + hooks + "vgpu-vm-pre-migrate.sh -vmuuid u-1 -reason source");
  EXPECT_EQ(migrate.exit_code, 2) << "2 or more makes xenopsd abort with XAPI_HOOK_FAILED";
  EXPECT_TRUE(contains(migrate.output, "VM u-1 cannot migrate: its vgpu-stub identity"))
      << migrate.output;
  EXPECT_EQ(run_command(env + " " + hooks + "vgpu-vm-pre-migrate.sh -vmuuid u-3 -reason source")
                .exit_code,
            0);

  // A reboot keeps the device (no pre-start hook runs for it); a shutdown removes it.
  for (const auto* reason : {"clean-reboot", "hard-reboot", "suspend"}) {
    EXPECT_EQ(
        run_command(env + " " + hooks + "vgpu-vm-post-destroy.sh -vmuuid u-1 -reason " + reason)
            .exit_code,
        0);
    EXPECT_TRUE(fs::exists(xcp / "u-1.device") && fs::exists(xcp / "u-1.token")) << reason;
  }
  EXPECT_EQ(
      run_command(env + " " + hooks + "vgpu-vm-post-destroy.sh -vmuuid u-1 -reason clean-shutdown")
          .exit_code,
      0);
  EXPECT_FALSE(fs::exists(xcp / "u-1.device"));
  EXPECT_FALSE(fs::exists(xcp / "u-1.token")) << "no token outlives its VM";
  EXPECT_TRUE(fs::exists(xcp / "u-2.device")) << "only that VM's files";
}

// CloudStack on XCP-ng: the DB holds CloudStack's id and the instance name; XAPI starts the VM
// under a new UUID with the instance name as name-label. The start hook finds it by that name
// (only on a host that syncs from CloudStack) and stores the device under XAPI's UUID.
TEST_F(AdminCli, XcpngStartHookFindsACloudStackVmByItsInstanceName) {
  ASSERT_EQ(
      admin("register-vm --vm-uuid cs-0f3a --name i-2-7-VM --pool B --priority high").exit_code, 0);
  write(state / "xe-vms", "xapi-91c2|i-2-7-VM|halted\nxapi-other|web|halted\n");
  const std::string hook = "VGPU_FAKE_LOG=" + log.string() + " VGPU_FAKE_STATE=" + state.string() +
                           " VGPU_XCPNG_STATE=" + xcp.string() +
                           " PATH=" VGPU_SOURCE_DIR "/tests/fakes:$PATH VGPU_DB=" + db.string() +
                           " VGPU_ADMIN=" + program("vgpu-admin").string() +
                           " VGPU_CLOUDSTACK_CONFIG=" + (dir / "cloudstack.yaml").string() +
                           " " VGPU_SOURCE_DIR "/hypervisor/xcpng/vgpu-vm-startup.sh -reason start";
  auto r = run_command(hook + " -vmuuid xapi-91c2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_FALSE(fs::exists(xcp / "xapi-91c2.device")) << "not a CloudStack host: no name lookup";
  EXPECT_TRUE(calls().empty());
  write(dir / "cloudstack.yaml", "api_url: http://127.0.0.1:1/client/api\n");
  r = run_command(hook + " -vmuuid xapi-91c2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(read(xcp / "xapi-91c2.device"), "vgpu-stub,pool_id=B,priority=high,vm_id=1\n")
      << r.output;
  EXPECT_EQ(read(xcp / "xapi-91c2.token").size(), 32u);
  EXPECT_EQ(calls(),
            std::vector<std::string>{"xe vm-param-get uuid=xapi-91c2 param-name=name-label "});
  r = run_command(hook + " -vmuuid xapi-other");
  EXPECT_EQ(r.exit_code, 0) << "a VM vgpu does not know starts untouched";
  EXPECT_FALSE(fs::exists(xcp / "xapi-other.device"));
}

// install.sh places everything beside the packages' files, never over them, and --uninstall
// takes exactly that away.
TEST_F(AdminCli, XcpngInstallAddsOnlyItsOwnFilesAndUninstallRemovesThem) {
  const auto root = dir / "dom0";
  write(root / "usr/lib64/xen/bin/qemu-wrapper", "#!/usr/bin/python\n# the package's\n");
  write(root / "etc/xenopsd.conf", "search-path=/usr/lib64/xen/bin\n");
  auto tree = [&] {
    std::set<std::string> files;
    for (const auto& e : fs::recursive_directory_iterator(root))
      files.insert(fs::relative(e.path(), root).string());
    return files;
  };
  const auto before = tree();
  const std::string install =
      VGPU_SOURCE_DIR "/hypervisor/xcpng/install.sh --root " + root.string();
  auto r = run_command(install);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(
      read(root / "etc/xenopsd.conf.d/vgpu.conf")
              .find("upstream-compat-qemu-dm-wrapper=/usr/lib/vgpu/xcpng/vgpu-qemu-wrapper\n") !=
          std::string::npos,
      true);
  for (const auto* f :
       {"usr/lib/vgpu/xcpng/vgpu-qemu-wrapper", "etc/xapi.d/vm-pre-start/10vgpu-stub",
        "etc/xapi.d/vm-post-destroy/10vgpu-stub", "etc/xapi.d/vm-pre-migrate/10vgpu-stub"})
    EXPECT_EQ(fs::status(root / f).permissions() & fs::perms::owner_exec, fs::perms::owner_exec)
        << f;
  EXPECT_EQ(fs::status(root / "var/lib/vgpu/xcpng").permissions() & fs::perms::all,
            fs::perms::owner_all);
  EXPECT_EQ(read(root / "usr/lib64/xen/bin/qemu-wrapper"), "#!/usr/bin/python\n# the package's\n");
  EXPECT_EQ(read(root / "etc/xenopsd.conf"), "search-path=/usr/lib64/xen/bin\n");
  r = run_command(install + " --uninstall");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto after = tree();
  // Empty folders the install made may stay (the hook folders belong to xapi on a real host).
  std::set<std::string> left;
  for (const auto& f : after)
    if (!before.count(f) && !fs::is_directory(root / f)) left.insert(f);
  EXPECT_TRUE(left.empty()) << *left.begin();
}

// ---- iommu-check -----------------------------------------------------------------------------

namespace {
// A sysfs/procfs tree laid out like a real host's: an NVIDIA 3D controller at 0000:3b:00.0 with
// its audio function in IOMMU group 12.
void host_tree(const fs::path& root, const std::string& cmdline, const std::string& driver) {
  auto w = [](const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text << "\n";
  };
  w(root / "proc/cmdline", cmdline);
  fs::create_directories(root / "sys/class/iommu/dmar0");
  const auto gpu = root / "sys/bus/pci/devices/0000:3b:00.0";
  w(gpu / "vendor", "0x10de");
  w(gpu / "device", "0x2330");
  w(gpu / "class", "0x030200");
  w(root / "sys/bus/pci/devices/0000:00:1f.3/vendor", "0x8086");
  w(root / "sys/bus/pci/devices/0000:00:1f.3/class", "0x040300");
  for (const auto* dev : {"0000:3b:00.0", "0000:3b:00.1"}) {
    fs::create_directories(root / "sys/kernel/iommu_groups/12/devices");
    fs::create_symlink(root / "sys/bus/pci/devices" / dev,
                       root / "sys/kernel/iommu_groups/12/devices" / dev);
  }
  fs::create_directories(root / "sys/kernel/iommu_groups/3/devices");
  fs::create_symlink("../../../kernel/iommu_groups/12", gpu / "iommu_group");
  fs::create_directories(root / "sys/bus/pci/drivers" / driver);
  fs::create_symlink("../../../bus/pci/drivers/" + driver, gpu / "driver");
}
}  // namespace

TEST_F(AdminCli, IommuCheckPassesOnAWellSetUpHost) {
  host_tree(dir / "root", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt", "nvidia");
  auto r = admin("iommu-check --root " + (dir / "root").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  for (const auto* check :
       {"kernel-cmdline", "iommu-units", "iommu-groups", "gpu-iommu-group", "gpu-driver"})
    EXPECT_TRUE(std::regex_search(r.output, std::regex(std::string("pass +") + check)))
        << check << "\n"
        << r.output;
  EXPECT_TRUE(contains(r.output, "group 12 with its own functions: 0000:3b:00.1")) << r.output;
}

TEST_F(AdminCli, IommuCheckWarnsOfASharedGroupAndVfioAndFailsWhenOff) {
  host_tree(dir / "root", "root=/dev/sda1 intel_iommu=on", "vfio-pci");
  fs::create_symlink(dir / "root/sys/bus/pci/devices/0000:00:1f.3",
                     dir / "root/sys/kernel/iommu_groups/12/devices/0000:00:1f.3");
  auto j = json_of("iommu-check --gpu 0000:3b:00.0 --root " + (dir / "root").string());
  EXPECT_TRUE(j["ok"]);
  std::map<std::string, nlohmann::json> by;
  for (auto& c : j["checks"]) by[c["check"]] = c;
  EXPECT_EQ(by["gpu-iommu-group"]["result"], "warn");
  EXPECT_TRUE(contains(by["gpu-iommu-group"]["detail"], "0000:00:1f.3"));
  EXPECT_EQ(by["gpu-driver"]["result"], "warn");
  EXPECT_TRUE(contains(by["gpu-driver"]["fix"], "vfio-pci/unbind"));

  fs::remove_all(dir / "off");
  host_tree(dir / "off", "root=/dev/sda1", "nvidia");
  fs::remove_all(dir / "off/sys/class/iommu");
  fs::remove_all(dir / "off/sys/kernel/iommu_groups");
  auto off = admin("iommu-check --root " + (dir / "off").string());
  EXPECT_EQ(off.exit_code, 1) << off.output;
  EXPECT_TRUE(contains(off.output, "fail  iommu-units")) << off.output;
  EXPECT_TRUE(contains(off.output, "fix: enable VT-d")) << off.output;
  auto none = admin("iommu-check --gpu 0000:99:00.0 --root " + (dir / "root").string());
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_TRUE(contains(none.output, "no PCI device 0000:99:00.0")) << none.output;
}

TEST_F(AdminCli, IommuCheckOnXenAsksXl) {
  host_tree(dir / "root", "root=/dev/sda1", "nvidia");
  write(dir / "root/sys/hypervisor/type", "xen\n");
  write(state / "xl-virt-caps", "pv hvm hvm_directio pv_directio hap shadow");
  auto r = admin("iommu-check --root " + (dir / "root").string());
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "pass  xen-iommu")) << r.output;
  EXPECT_EQ(calls(), std::vector<std::string>{"xl info "});
  write(state / "xl-virt-caps", "pv hvm hap shadow");
  auto off = admin("iommu-check --root " + (dir / "root").string());
  EXPECT_EQ(off.exit_code, 1);
  EXPECT_TRUE(contains(off.output, "lacks hvm_directio")) << off.output;
}

TEST_F(AdminCli, IommuCheckRunsOnThisMachine) {
  auto r = run_command(program("vgpu-admin").string() + " iommu-check --json");
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.output;
  auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["ok"], r.exit_code == 0);
  ASSERT_FALSE(j["checks"].empty());
  for (auto& c : j["checks"]) {
    EXPECT_TRUE(c["result"] == "pass" || c["result"] == "warn" || c["result"] == "fail");
    if (c["result"] == "fail") {
      EXPECT_FALSE(c["fix"].get<std::string>().empty()) << c.dump();
    }
  }
}

// ---- with a running mediator -----------------------------------------------------------------

TEST(AdminWithMediator, StatusShowsLiveFiguresAndAPoolChangeReachesTheNextJob) {
  MediatorProcess m({{"a1", "A", "low"}, {"b1", "B", "high"}});
  const std::string admin = program("vgpu-admin").string() + " --db " + m.db().string();
  auto status =
      run_command(admin + " status --json --admin-socket " + (m.dir() / "admin.sock").string());
  ASSERT_EQ(status.exit_code, 0) << status.output;
  auto j = nlohmann::json::parse(status.output);
  EXPECT_TRUE(j["mediator"]["reachable"]);
  EXPECT_EQ(j["mediator"]["slots"], 1);
  EXPECT_EQ(j["vms"], 2);
  auto down = run_command(admin + " status --admin-socket " + (m.dir() / "nothing.sock").string());
  EXPECT_EQ(down.exit_code, 0);
  EXPECT_TRUE(contains(down.output, "mediator: not reachable")) << down.output;

  ASSERT_EQ(run_command(admin + " set-pool a1 B").exit_code, 0);
  auto connect = [&] {
    return vgpu::guest::Client::connect("127.0.0.1", m.port(), m.vm("a1").vm_id, m.vm("a1").token);
  };
  for (int i = 0; i < 100 && connect().identity().pool != "B"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto c = connect();
  EXPECT_EQ(c.identity().pool, "B");
  EXPECT_EQ(c.run("noop", {}).status, vgpu::sdk::Status::ok);
}

// 20 parallel register-vm without --vm-id on a brand-new file once kept only 6-7 of them: the
// free vm_id was chosen outside the write transaction, and the first-open migrations collided.
TEST_F(AdminCli, ConcurrentRegistrationsOnANewFileAreAllKept) {
  constexpr int kWriters = 20;
  std::vector<std::thread> writers;
  std::vector<CommandResult> results(kWriters);
  for (int i = 0; i < kWriters; ++i)
    writers.emplace_back([&, i] {
      results[i] = admin("register-vm --vm-uuid uuid-par-" + std::to_string(i) + " --name par" +
                         std::to_string(i));
    });
  for (auto& t : writers) t.join();
  for (const auto& r : results) EXPECT_EQ(r.exit_code, 0) << r.output;
  auto vms = json_of("list-vms");
  ASSERT_EQ(vms.size(), std::size_t(kWriters));
  std::set<unsigned> ids;
  for (const auto& vm : vms) ids.insert(vm["vm_id"].get<unsigned>());
  EXPECT_EQ(ids.size(), std::size_t(kWriters)) << "every vm_id is distinct";
  EXPECT_EQ(*ids.rbegin(), unsigned(kWriters)) << "and the lowest free ones were taken";
}

TEST_F(AdminCli, NamesAndWeightsThatCannotBeRightAreRefused) {
  auto r = admin("register-vm --vm-uuid u1 --name \"$(printf 'bad\\007name')\"");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("character 4 is 0x07"), std::string::npos) << r.output;
  r = admin("register-vm --vm-uuid u2 --name " + std::string(100000, 'n'));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("1 to 64 characters long, got 100000"), std::string::npos);
  for (const char* w : {"inf", "nan", "-1", "0", "1e9"}) {
    r = admin(std::string("register-vm --vm-uuid u3 --weight ") + w);
    EXPECT_EQ(r.exit_code, 1) << w << ": " << r.output;
    EXPECT_NE(r.output.find("weight must be a number greater than 0"), std::string::npos)
        << w << ": " << r.output;
  }
  r = admin("create-pool C --weight inf");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_EQ(admin("register-vm --vm-uuid u4 --name good-name_1 --weight 2.5").exit_code, 0);
  EXPECT_EQ(json_of("list-vms").size(), 1u) << "nothing refused was stored";
}
