// One mediator over several devices (docs/multi-gpu.md), with the cpu executor as the devices:
// placement by pin, by load and by the policy's Placement role; a VM's jobs in order on one
// device; per-device status and metrics; a device's worker killed takes only its own jobs down.
// Real mediator, real worker processes, real TCP, a real SQLite file.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "client.hpp"
#include "guest_helpers.hpp"
#include "http_get.hpp"
#include "mediator_process.hpp"
#include "vgpu/sdk/job.hpp"

namespace vgpu::testing {
namespace {

using namespace std::chrono_literals;

std::string two_cpu_devices(bool isolated) {
  return std::string("  - plugin: cpu\n    devices: [0, 1]\n    simulated_devices: 2\n") +
         "    workers: 1\n" + (isolated ? "    isolation: process\n" : "");
}

std::size_t db_reloads(const MediatorProcess& m) {
  std::size_t n = 0;
  const auto log = m.log();
  for (auto at = log.find("config DB reloaded"); at != std::string::npos;
       at = log.find("config DB reloaded", at + 1))
    ++n;
  return n;
}

// Waits until the mediator has read the DB again after `before` reloads, and one poll interval
// (100 ms in these tests) more, so that every change made before the call is in.
void wait_for_db_reload(const MediatorProcess& m, std::size_t before) {
  ASSERT_TRUE(eventually([&] { return db_reloads(m) > before; }));
  const auto seen = db_reloads(m);
  eventually([&] { return db_reloads(m) > seen; }, 300ms);
}

void admin(const MediatorProcess& m, const std::string& args) {
  const auto r = run_command(program("vgpu-admin").string() + " --db " + m.db().string() + " " +
                             args + " 2>&1");
  ASSERT_EQ(r.exit_code, 0) << args << ": " << r.output;
}

// The VM ids each device has served, from the status socket.
std::vector<std::set<std::string>> served_by_device(const MediatorProcess& m) {
  std::vector<std::set<std::string>> out;
  const auto stats = m.stats();
  for (const auto& d : stats["devices"]) {
    out.emplace_back();
    for (const auto& [vm, counters] : d["vms"].items()) out.back().insert(vm);
  }
  return out;
}

TEST(MultiDevice, AKilledDeviceWorkerFailsOnlyThatDevicesJobs) {
  MediatorProcess m({{"a", "A", "low"}, {"b", "A", "low"}},
                    "metrics:\n  listen: 127.0.0.1\n  port: 0\n", "strict_priority", 1, "",
                    two_cpu_devices(true));
  const auto reloads = db_reloads(m);
  admin(m, "update-vm a --device 0");
  admin(m, "update-vm b --device 1");
  wait_for_db_reload(m, reloads);
  const auto a_id = std::to_string(m.vm("a").vm_id), b_id = std::to_string(m.vm("b").vm_id);
  ASSERT_TRUE(eventually([&] { return m.stats()["devices"].size() == 2; }));
  const auto devices = m.stats()["devices"];
  EXPECT_EQ(devices[0]["name"], "cpu:0");
  EXPECT_EQ(devices[1]["name"], "cpu:1");
  EXPECT_EQ(devices[1]["device"], "cpu device 1 (1 worker threads)");
  const pid_t device1_worker = devices[1]["worker_pid"].get<pid_t>();
  ASSERT_GT(device1_worker, 0);
  EXPECT_NE(devices[0]["worker_pid"].get<pid_t>(), device1_worker) << "a process per device";

  // b's long job occupies device 1; a keeps device 0 busy with short ones meanwhile.
  auto long_job = std::async(std::launch::async, [&] {
    return connect_as(m, "b").run("spin", {{"us", "5000000"}});
  });
  ASSERT_TRUE(eventually([&] { return m.stats()["devices"][1]["running"] == 1; }));
  std::atomic<bool> stop{false};
  auto steady = std::async(std::launch::async, [&] {
    auto c = connect_as(m, "a");
    std::size_t ok = 0, failed = 0;
    while (!stop) {
      (c.run("reduce_sum", {{"n", "1000"}}).status == sdk::Status::ok ? ok : failed)++;
      // A job every millisecond: steady work on device 0 without starving the status socket.
      std::this_thread::sleep_for(1ms);
    }
    return std::pair{ok, failed};
  });
  // Stops the loop however the test leaves (a failed ASSERT returns early): destroyed before
  // `steady`, whose destructor waits for the loop.
  struct StopOnExit {
    std::atomic<bool>& flag;
    ~StopOnExit() { flag = true; }
  } stop_on_exit{stop};
  std::this_thread::sleep_for(200ms);
  ::kill(device1_worker, SIGKILL);
  const auto lost = long_job.get();
  EXPECT_EQ(lost.status, sdk::Status::execution_error);
  EXPECT_NE(lost.message.find("killed by signal 9"), std::string::npos) << lost.message;
  ASSERT_TRUE(eventually([&] {
    const auto d = m.stats()["devices"][1];
    return d["worker_restarts"] == 1 && d["worker_pid"].get<pid_t>() > 0;
  }));
  std::this_thread::sleep_for(200ms);
  stop = true;
  const auto [ok, failed] = steady.get();
  EXPECT_GT(ok, 10u) << "device 0 served a all along";
  EXPECT_EQ(failed, 0u) << "device 1's loss cost device 0's VM nothing";
  EXPECT_EQ(connect_as(m, "b").run("reduce_sum", {{"n", "10"}}).status, sdk::Status::ok)
      << "device 1 serves again with its new worker";

  const auto after = m.stats()["devices"];
  EXPECT_EQ(after[0]["worker_restarts"], 0);
  EXPECT_EQ(after[0]["vms"].count(b_id), 0u);
  EXPECT_EQ(after[1]["vms"].count(a_id), 0u);
  const auto metrics = http_get(m.metrics_url());
  EXPECT_NE(metrics.find("vgpu_executor_restarts_total{executor=\"cpu\",device=\"cpu:1\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("vgpu_executor_restarts_total{executor=\"cpu\",device=\"cpu:0\"} 0\n"),
            std::string::npos);
  EXPECT_NE(metrics.find(
                "vgpu_jobs_finished_total{vm=\"" + b_id +
                "\",pool=\"A\",priority=\"low\",device=\"cpu:1\",status=\"execution_error\"} 1\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("vgpu_executor_worker_threads{plugin=\"cpu\",device=\"cpu:0\"} 1\n"),
            std::string::npos)
      << "each device's own telemetry, labelled";
  EXPECT_NE(metrics.find("vgpu_executor_usable{executor=\"cpu\",device=\"cpu:1\"} 1\n"),
            std::string::npos);
  const auto status =
      run_command(program("vgpu-admin").string() + " --db " + m.db().string() + " --admin-socket " +
                  (m.dir() / "admin.sock").string() + " status");
  EXPECT_NE(status.output.find("device 1 cpu:1"), std::string::npos) << status.output;
}

TEST(MultiDevice, UnpinnedVmsAreSpreadByLoadAndAVmsJobsKeepTheirOrder) {
  MediatorProcess m({{"c", "A", "low"}, {"d", "A", "low"}}, "", "strict_priority", 1, "",
                    two_cpu_devices(false));
  // Both VMs busy at once: the second finds device 0 loaded and goes to device 1.
  auto c_job = std::async(std::launch::async, [&] {
    return connect_as(m, "c").run("spin", {{"us", "300000"}});
  });
  ASSERT_TRUE(eventually([&] { return m.stats()["running_total"] == 1; }));
  auto d_job = std::async(std::launch::async, [&] {
    return connect_as(m, "d").run("spin", {{"us", "300000"}});
  });
  EXPECT_EQ(c_job.get().status, sdk::Status::ok);
  EXPECT_EQ(d_job.get().status, sdk::Status::ok);
  const auto served = served_by_device(m);
  ASSERT_EQ(served.size(), 2u);
  EXPECT_EQ(served[0].size(), 1u);
  EXPECT_EQ(served[1].size(), 1u) << "one VM per device";

  // 40 jobs in flight from one VM: all on one device, started in the order they were sent.
  auto c = connect_as(m, "c");
  std::vector<std::uint64_t> tags;
  for (int i = 0; i < 40; ++i) tags.push_back(c.submit("spin", {{"us", "2000"}}));
  std::map<std::uint64_t, std::uint64_t> sequence_of;
  for (int i = 0; i < 40; ++i) {
    const auto r = c.next_result();
    ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
    sequence_of[r.tag] = r.dispatch_sequence;
  }
  for (std::size_t i = 1; i < tags.size(); ++i)
    EXPECT_LT(sequence_of[tags[i - 1]], sequence_of[tags[i]]) << "job " << i << " overtook";
  const auto c_id = std::to_string(m.vm("c").vm_id);
  // The scheduler counts a job done just after its result went out: wait for the last count.
  nlohmann::json devices;
  const auto done_on = [&](int d) {
    return devices[d]["vms"].contains(c_id) ? devices[d]["vms"][c_id]["done"].get<int>() : 0;
  };
  EXPECT_TRUE(eventually([&] {
    devices = m.stats()["devices"];
    return done_on(0) == 41 || done_on(1) == 41;
  })) << "all of c's jobs on one device: "
      << devices.dump();
}

TEST(MultiDevice, PinsFromTheVmOrItsPoolAndAPinPastTheDevicesIsRefusedClearly) {
  MediatorProcess m({{"e", "A", "low"}, {"f", "B", "low"}, {"g", "B", "high"}}, "",
                    "strict_priority", 1, "", two_cpu_devices(false));
  const auto reloads = db_reloads(m);
  admin(m, "set-pool-device B 1");
  admin(m, "update-vm e --device 5");
  admin(m, "update-vm g --device 0");  // the VM's own pin beats its pool's
  wait_for_db_reload(m, reloads);
  EXPECT_EQ(connect_as(m, "f").run("reduce_sum", {{"n", "10"}}).status, sdk::Status::ok);
  const auto e = connect_as(m, "e").run("reduce_sum", {{"n", "10"}});
  const auto e_status = e.status;
  const auto& e_message = e.message;
  EXPECT_EQ(e_status, sdk::Status::internal_error);
  EXPECT_NE(e_message.find("vm_id " + std::to_string(m.vm("e").vm_id) +
                           " is pinned to device 5 (vms.device), but this mediator drives "
                           "devices 0 to 1"),
            std::string::npos)
      << e_message;
  EXPECT_EQ(connect_as(m, "g").run("reduce_sum", {{"n", "10"}}).status, sdk::Status::ok);
  const auto served = served_by_device(m);
  EXPECT_TRUE(served[1].count(std::to_string(m.vm("f").vm_id))) << "f follows pool B to 1";
  EXPECT_TRUE(served[0].count(std::to_string(m.vm("g").vm_id))) << "g's own pin: device 0";
  EXPECT_FALSE(served[1].count(std::to_string(m.vm("g").vm_id)));
  EXPECT_TRUE(m.running());
}

TEST(MultiDevice, ThePolicysPlacementRoleDecidesAndAReloadReplacesIt) {
  const auto plugins = (build_dir() / "test-plugins").string();
  MediatorProcess m({{"h", "A", "low"}, {"i", "A", "high"}}, "plugin_dirs: [" + plugins + "]\n",
                    "test_placement\n  place_on: 1", 1, "", two_cpu_devices(false));
  for (const auto* vm : {"h", "i"})
    EXPECT_EQ(connect_as(m, vm).run("reduce_sum", {{"n", "10"}}).status, sdk::Status::ok);
  auto served = served_by_device(m);
  EXPECT_TRUE(served[0].empty()) << "the default would have used device 0";
  EXPECT_EQ(served[1].size(), 2u);

  // The same policy placing on device 0 from now on: an idle VM's next job goes there.
  const auto path = m.dir() / "mediator.yaml";
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::string yaml = text.str();
  const auto at = yaml.find("place_on: 1");
  ASSERT_NE(at, std::string::npos) << yaml;
  yaml.replace(at, 11, "place_on: 0");
  std::ofstream(path) << yaml;
  ASSERT_EQ(::kill(m.pid(), SIGHUP), 0);
  ASSERT_TRUE(eventually([&] { return m.stats()["policy_changes"] == 1; }));
  EXPECT_EQ(connect_as(m, "h").run("reduce_sum", {{"n", "10"}}).status, sdk::Status::ok);
  served = served_by_device(m);
  EXPECT_TRUE(served[0].count(std::to_string(m.vm("h").vm_id)));
}

}  // namespace
}  // namespace vgpu::testing
