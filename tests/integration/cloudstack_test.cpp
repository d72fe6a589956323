// vgpu-admin cloudstack against a stand-in for CloudStack's API (tests/fakes/cloudstack-api:
// the real management server cannot run here; the stand-in checks signatures as CloudStack does,
// proven on the developer guide's worked example, and answers in CloudStack's formats) and
// webhook deliveries made as CloudStack makes them (tests/fakes/cloudstack-deliver). A real
// SQLite file; the real vgpu-admin program.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "mediator_process.hpp"

namespace vgpu::testing {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

// The developer guide's example keys ("Signing API Requests").
const std::string kApiKey =
    "plgWJfZK4gyS3mOMTVmjUVg-X-jlWlnfaUJ9GAbBbf9EdM-kAYMmAiLqzzq1ElZLYq_u38zCm0bewzGUdP66mg";
const std::string kSecretKey =
    "VDaACYb0LV9eNjTetIOElcVQkvJck_J_QljX_FcHRj87ZKiy0z0ty0ZsYBkoXkY9b7eq1EhwJaw7FF3akA3KBQ";
const std::string kFakes = VGPU_SOURCE_DIR "/tests/fakes/";

std::string read(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

json vm(const std::string& id, const std::string& state, const std::string& offering,
        json details = json::object()) {
  return {{"id", id},          {"name", "name-" + id}, {"instancename", "i-2-" + id + "-VM"},
          {"state", state},    {"zoneid", "zone-1"},   {"serviceofferingid", offering},
          {"details", details}};
}

class CloudStack : public ::testing::Test {
 protected:
  fs::path dir =
      fs::temp_directory_path() / ("vgpu-cloudstack-" + std::to_string(::getpid()) + "-" +
                                   ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::path state = dir / "api";
  fs::path db = dir / "vgpu.db";
  pid_t api_pid = -1;
  std::vector<json> vms;

  void SetUp() override {
    fs::remove_all(dir);
    fs::create_directories(state);
    write(state / "keys.json", json{{"apikey", kApiKey}, {"secretkey", kSecretKey}}.dump());
    write(state / "offerings.json",
          json::array(
              {{{"id", "off-high"},
                {"name", "gpu-high"},
                {"serviceofferingdetails", {{"vgpu.pool", "A"}, {"vgpu.priority", "high"}}}},
               {{"id", "off-batch"},
                {"name", "gpu-batch"},
                {"serviceofferingdetails", {{"vgpu.pool", "batch"}, {"vgpu.priority", "low"}}}},
               {{"id", "off-plain"}, {"name", "small"}}})
              .dump());
    const auto r =
        run_command(kFakes + "cloudstack-api " + state.string() + " >/dev/null 2>&1 & echo $!");
    api_pid = std::stoi(r.output);
    ASSERT_TRUE(eventually([&] { return fs::exists(state / "port"); })) << "no stand-in API";
    write(dir / "secret", kSecretKey);
    fs::permissions(dir / "secret", fs::perms::owner_read | fs::perms::owner_write);
    write(dir / "hook-secret", "webhook-secret-1");
    fs::permissions(dir / "hook-secret", fs::perms::owner_read | fs::perms::owner_write);
    settings();
  }
  void TearDown() override {
    if (api_pid > 0) ::kill(api_pid, SIGTERM);
    fs::remove_all(dir);
  }
  static void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  void set_vms() { write(state / "vms.json", json(vms).dump()); }
  void settings(const std::string& extra = "") {
    write(dir / "cloudstack.yaml",
          "api_url: http://127.0.0.1:" + read(state / "port") + "/client/api\napi_key: " + kApiKey +
              "\nsecret_key_file: " + (dir / "secret").string() + "\n" + extra);
  }
  CommandResult admin(const std::string& args) {
    return run_command(program("vgpu-admin").string() + " --db " + db.string() + " " + args +
                       " 2>&1 </dev/null");
  }
  std::map<std::string, json> registered() {
    std::map<std::string, json> out;
    const auto r = run_command(program("vgpu-admin").string() + " --db " + db.string() +
                               " list-vms --json 2>/dev/null");
    for (const auto& v : json::parse(r.output)) out[v["vm_uuid"].get<std::string>()] = v;
    return out;
  }
  std::size_t api_calls() {
    std::ifstream in(state / "calls.log");
    std::size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
};

TEST_F(CloudStack, SyncRegistersUpdatesAndRemovesWhatCloudStackSays) {
  ASSERT_EQ(admin("register-vm --vm-uuid operator-vm --name mine --pool A").exit_code, 0);
  ASSERT_EQ(admin("register-vm --vm-uuid vm-taken --pool B").exit_code, 0);
  vms = {vm("vm-1", "Running", "off-high"),
         vm("vm-2", "Stopped", "off-batch"),
         vm("vm-3", "Running", "off-plain"),
         vm("vm-4", "Running", "off-plain", {{"vgpu.priority", "high"}}),
         vm("vm-5", "Destroyed", "off-high"),
         vm("vm-taken", "Running", "off-high")};
  // Enough other VMs for a second page (CloudStack pages list answers).
  for (int i = 0; i < 520; ++i)
    vms.push_back(vm("other-" + std::to_string(i), "Running", "off-plain"));
  set_vms();
  auto r = admin("cloudstack sync --config " + (dir / "cloudstack.yaml").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sync: 2 registered, 0 updated, 0 removed, 0 unchanged, 1 skipped"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("skipped vm-taken: registered by the operator"), std::string::npos)
      << r.output;
  EXPECT_NE(read(state / "calls.log").find("\"page\": \"2\""), std::string::npos)
      << "the second page was read";
  auto db_vms = registered();
  ASSERT_TRUE(db_vms.count("vm-1") && db_vms.count("vm-2")) << r.output;
  EXPECT_EQ(db_vms["vm-1"]["pool"], "A");
  EXPECT_EQ(db_vms["vm-1"]["priority"], "high");
  EXPECT_EQ(db_vms["vm-1"]["name"], "i-2-vm-1-VM") << "the instance name: XCP-ng's name-label";
  EXPECT_EQ(db_vms["vm-1"]["managed_by"], "cloudstack");
  EXPECT_EQ(db_vms["vm-2"]["pool"], "batch") << "a pool the offering names is created";
  EXPECT_EQ(db_vms["vm-2"]["priority"], "low");
  EXPECT_FALSE(db_vms.count("vm-3")) << "no vgpu detail: not a vgpu VM";
  EXPECT_FALSE(db_vms.count("vm-4")) << "a VM's own details are its owner's: not trusted";
  EXPECT_FALSE(db_vms.count("vm-5")) << "destroyed";
  EXPECT_EQ(db_vms["vm-taken"]["pool"], "B") << "the operator's row is left as it is";
  EXPECT_TRUE(db_vms["operator-vm"]["managed_by"].is_null());
  const auto vm1_id = db_vms["vm-1"]["vm_id"];

  // The operator moves vm-1 to the batch offering; vm-2 is expunged.
  vms[0]["serviceofferingid"] = "off-batch";
  vms[1]["state"] = "Expunging";
  set_vms();
  r = admin("cloudstack sync --config " + (dir / "cloudstack.yaml").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("sync: 0 registered, 1 updated, 1 removed, 0 unchanged"),
            std::string::npos)
      << r.output;
  db_vms = registered();
  EXPECT_EQ(db_vms["vm-1"]["pool"], "batch");
  EXPECT_EQ(db_vms["vm-1"]["priority"], "low");
  EXPECT_EQ(db_vms["vm-1"]["vm_id"], vm1_id) << "the guest's vm_id stays";
  EXPECT_FALSE(db_vms.count("vm-2"));
  EXPECT_TRUE(db_vms.count("operator-vm")) << "never removed: not CloudStack's";

  // Trusting VM details (the operator made them read-only for users) takes vm-4 in.
  settings("trust_vm_details: true\n");
  r = admin("cloudstack sync --config " + (dir / "cloudstack.yaml").string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(registered()["vm-4"]["priority"], "high");
}

TEST_F(CloudStack, BadKeysSettingsAndAnswersAreClearErrors) {
  set_vms();
  write(dir / "secret", "not-the-secret");
  auto r = admin("cloudstack sync --config " + (dir / "cloudstack.yaml").string());
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find("listVirtualMachines refused (401): unable to verify user credentials "
                          "and/or request signature"),
            std::string::npos)
      << r.output;
  fs::permissions(dir / "secret", fs::perms::group_read, fs::perm_options::add);
  r = admin("cloudstack sync --config " + (dir / "cloudstack.yaml").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("may be read by others (mode 640); chmod 600 it"), std::string::npos)
      << r.output;
  write(dir / "bad.yaml", "api_url: ftp://x\napi_key: k\nsecret_key_file: /nonexistent\n");
  r = admin("cloudstack sync --config " + (dir / "bad.yaml").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("api_url 'ftp://x' must start with http:// or https://"),
            std::string::npos)
      << r.output;
  write(dir / "bad.yaml", "api_url: http://127.0.0.1:1/client/api\napi_key: k\nsecret_key_file: " +
                              (dir / "hook-secret").string() + "\nretries: 3\n");
  r = admin("cloudstack sync --config " + (dir / "bad.yaml").string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("unknown key 'retries'"), std::string::npos) << r.output;
  write(dir / "bad.yaml", "api_url: http://127.0.0.1:1/client/api\napi_key: k\nsecret_key_file: " +
                              (dir / "hook-secret").string() + "\n");
  r = admin("cloudstack sync --config " + (dir / "bad.yaml").string());
  EXPECT_EQ(r.exit_code, 5);
  EXPECT_NE(r.output.find("CloudStack API at 127.0.0.1:1: Connection refused"), std::string::npos)
      << r.output;
  EXPECT_TRUE(registered().empty()) << "nothing changed";
}

// KVM under CloudStack: the device comes through the VM's extraconfig, which CloudStack keeps
// and puts into the domain XML at every start; vgpu sets it once per VM, under its own label.
TEST_F(CloudStack, KvmVmsGetTheExtraConfigThatAddsTheDevice) {
  vms = {vm("vm-k", "Stopped", "off-high", {{"extraconfig-1", "<memoryBacking/>"}}),
         vm("vm-x", "Running", "off-high"), vm("vm-p", "Running", "off-plain")};
  vms[0]["hypervisor"] = "KVM";
  vms[1]["hypervisor"] = "XenServer";
  vms[2]["hypervisor"] = "KVM";
  set_vms();
  const auto sync = [&] {
    return admin("cloudstack sync --config " + (dir / "cloudstack.yaml").string());
  };

  // CloudStack refuses while enable.additional.vm.configuration is off: said, and the VM is
  // registered all the same.
  auto r = sync();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(
      r.output.find("skipped vm-k: its KVM extraconfig could not be set: updateVirtualMachine "
                    "refused (530): Additional VM configuration is not enabled for this "
                    "account"),
      std::string::npos)
      << r.output;
  EXPECT_TRUE(registered().count("vm-k"));

  write(state / "keys.json", json{{"apikey", kApiKey},
                                  {"secretkey", kSecretKey},
                                  {"enable_additional_vm_configuration", true},
                                  {"kvm_allow_list", "memoryBacking"}}
                                 .dump());
  settings("kvm_config_dir: /run/vgpu/libvirt\n");
  r = sync();
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 KVM extraconfig set"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("KVM extraconfig set for vm-k"), std::string::npos) << r.output;
  const auto stored = json::parse(read(state / "vms.json"));
  const auto& details = stored[0]["details"];
  EXPECT_EQ(details["extraconfig-vgpu-stub"],
            "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
            "  <qemu:arg value='-readconfig'/>\n"
            "  <qemu:arg value='/run/vgpu/libvirt/vm-k.cfg'/>\n"
            "</qemu:commandline>")
      << details.dump();
  EXPECT_EQ(details["extraconfig-1"], "<memoryBacking/>") << "the VM's other entry is kept";
  EXPECT_FALSE(stored[1]["details"].contains("extraconfig-vgpu-stub")) << "XenServer: the hooks";
  EXPECT_FALSE(stored[2]["details"].contains("extraconfig-vgpu-stub")) << "not a vgpu VM";

  // Already there: no call. Another folder: set again, in place.
  const auto calls = api_calls();
  r = sync();
  EXPECT_EQ(r.output.find("extraconfig set"), std::string::npos) << r.output;
  EXPECT_EQ(api_calls(), calls + 2) << "the two lists, no update";
  settings("kvm_config_dir: /var/run/vgpu\n");
  r = sync();
  EXPECT_NE(r.output.find("KVM extraconfig set for vm-k"), std::string::npos) << r.output;
  EXPECT_NE(json::parse(read(state / "vms.json"))[0]["details"]["extraconfig-vgpu-stub"]
                .get<std::string>()
                .find("/var/run/vgpu/vm-k.cfg"),
            std::string::npos);

  // Off by the operator's word; a folder that cannot go into XML is refused by name.
  settings("kvm_extraconfig: false\nkvm_config_dir: /elsewhere\n");
  r = sync();
  EXPECT_EQ(r.output.find("extraconfig set"), std::string::npos) << r.output;
  settings("kvm_config_dir: \"/run/x'/>\"\n");
  r = sync();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("'kvm_config_dir' must be an absolute path"), std::string::npos)
      << r.output;
}

TEST_F(CloudStack, ServeSyncsOnSignedVmEventsAndRefusesTheRest) {
  vms = {vm("vm-1", "Running", "off-high")};
  set_vms();
  settings("sync_interval_s: 3600\nwebhook:\n  listen: 127.0.0.1\n  port: 0\n  secret_file: " +
           (dir / "hook-secret").string() + "\n");
  const auto log = dir / "serve.log";
  const auto started = run_command(
      program("vgpu-admin").string() + " --db " + db.string() + " cloudstack serve --config " +
      (dir / "cloudstack.yaml").string() + " >" + log.string() + " 2>&1 & echo $!");
  const pid_t serve = std::stoi(started.output);
  std::smatch m;
  std::string text;
  ASSERT_TRUE(eventually([&] {
    text = read(log);
    return std::regex_search(text, m,
                             std::regex("webhook listening on 127\\.0\\.0\\.1:([0-9]+)")) &&
           text.find("sync: 1 registered") != std::string::npos;
  })) << text;
  const std::string url = "http://127.0.0.1:" + m[1].str() + "/";
  auto deliver = [&](const std::string& secret, const std::string& event, const std::string& id,
                     const std::string& status = "Completed") {
    return run_command(kFakes + "cloudstack-deliver " + url + " " + secret + " " + event + " " +
                       id + " " + status)
        .output;
  };
  vms.push_back(vm("vm-6", "Running", "off-batch"));
  set_vms();
  const auto calls = api_calls();
  EXPECT_EQ(deliver("-", "VM.CREATE", "vm-6"), "401\n") << "unsigned";
  EXPECT_EQ(deliver("another-secret", "VM.CREATE", "vm-6"), "401\n") << "signed by someone else";
  EXPECT_EQ(deliver("webhook-secret-1", "USER.LOGIN", "u-1"), "200\n") << "taken, not a VM's";
  EXPECT_EQ(deliver("webhook-secret-1", "VM.CREATE", "vm-6", "Started"), "200\n");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(api_calls(), calls) << "no sync for refused, foreign or unfinished events";
  EXPECT_FALSE(registered().count("vm-6"));
  EXPECT_EQ(deliver("webhook-secret-1", "VM.CREATE", "vm-6"), "200\n");
  EXPECT_TRUE(eventually([&] { return registered().count("vm-6") == 1; })) << read(log);
  EXPECT_NE(read(log).find("webhook delivery refused (401): X-CS-Signature does not match"),
            std::string::npos)
      << read(log);
  ::kill(serve, SIGTERM);
  EXPECT_TRUE(eventually([&] { return read(log).find("stopped") != std::string::npos; }))
      << read(log);
}

}  // namespace
}  // namespace vgpu::testing
