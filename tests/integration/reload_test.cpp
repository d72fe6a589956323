// Changing the policy while the mediator runs: edit the YAML, send SIGHUP (what `systemctl
// reload` does). Under load no connection and no job is dropped, queued jobs move to the new
// policy, a bad setting keeps the running policy, and other changes are reported as needing a
// restart.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

#include "guest_helpers.hpp"
#include "mediator_process.hpp"
#include "vgpu/sdk/job.hpp"

using namespace vgpu;
using namespace vgpu::testing;
using namespace std::chrono_literals;

namespace {

// Replaces `from` with `to` in the mediator's YAML, then sends SIGHUP.
void edit_and_reload(MediatorProcess& m, const std::string& from, const std::string& to) {
  const auto path = m.dir() / "mediator.yaml";
  std::stringstream text;
  text << std::ifstream(path).rdbuf();
  std::string yaml = text.str();
  const auto at = yaml.find(from);
  ASSERT_NE(at, std::string::npos) << yaml;
  yaml.replace(at, from.size(), to);
  std::ofstream(path) << yaml;
  ASSERT_EQ(::kill(m.pid(), SIGHUP), 0);
}

bool log_has(const MediatorProcess& m, const std::string& text) {
  return m.log().find(text) != std::string::npos;
}

}  // namespace

TEST(Reload, APolicyChangeUnderLoadDropsNoConnectionAndNoJob) {
  MediatorProcess m({{"hi", "A", "high"}, {"lo1", "A", "low"}, {"lo2", "B", "low"}}, "",
                    "strict_priority", 1);
  constexpr int kJobsPerClient = 120;
  std::atomic<int> ok{0}, failed{0};
  std::atomic<unsigned> reconnects{0};
  std::vector<std::thread> clients;
  for (const char* name : {"hi", "lo1", "lo2"})
    clients.emplace_back([&, name] {
      auto c = connect_as(m, name);
      // Four in flight at a time, so jobs are queued in the policy when it is replaced.
      int submitted = 0, answered = 0;
      while (answered < kJobsPerClient) {
        while (submitted < kJobsPerClient && submitted - answered < 4) {
          c.submit("spin", {{"us", "1000"}});
          ++submitted;
        }
        (c.next_result().status == sdk::Status::ok ? ok : failed)++;
        ++answered;
      }
      reconnects += c.reconnects();
    });
  ASSERT_TRUE(eventually([&] { return ok.load() >= 60; }));
  edit_and_reload(m, "policy:\n  plugin: strict_priority\n",
                  "policy:\n  plugin: round_robin\n  aging_ms: 50\n");
  ASSERT_TRUE(eventually([&] { return m.stats()["policy_name"] == "round_robin"; })) << m.log();
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok.load(), 3 * kJobsPerClient);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(reconnects.load(), 0u) << "a connection was dropped";
  EXPECT_TRUE(log_has(m, "reload: policy strict_priority -> round_robin")) << m.log();
  // Twelve jobs in flight on one worker: the old policy held some, and they moved.
  EXPECT_FALSE(log_has(m, "round_robin, 0 queued jobs moved")) << m.log();
  const auto stats = m.stats();
  EXPECT_EQ(stats["policy_changes"], 1);
  EXPECT_EQ(stats["queued_total"], 0);
  EXPECT_TRUE(m.running());
  // What an operator sees.
  const auto status =
      run_command(program("vgpu-admin").string() + " --db " + m.db().string() + " --admin-socket " +
                  (m.dir() / "admin.sock").string() + " status");
  EXPECT_NE(status.output.find("policy round_robin (changed 1 time(s) since start"),
            std::string::npos)
      << status.output;
  const auto running =
      run_command(program("vgpu-admin").string() + " --db " + m.db().string() + " --admin-socket " +
                  (m.dir() / "admin.sock").string() + " running-config");
  EXPECT_EQ(running.exit_code, 0) << running.output;
  for (const char* expected : {"plugin: round_robin", "aging_ms: 50", "plugin: tcp", "plugin: cpu"})
    EXPECT_NE(running.output.find(expected), std::string::npos) << expected << "\n"
                                                                << running.output;
  EXPECT_EQ(running.output.find("strict_priority"), std::string::npos) << running.output;
}

TEST(Reload, ABadPolicySettingKeepsTheRunningPolicy) {
  MediatorProcess m({{"a", "A", "high"}});
  edit_and_reload(m, "policy:\n  plugin: strict_priority\n",
                  "policy:\n  plugin: strict_priority\n  aging_ms: -5\n");
  ASSERT_TRUE(eventually([&] { return log_has(m, "the policy was not changed"); })) << m.log();
  EXPECT_TRUE(log_has(m, "mediator.yaml:")) << "the refusal names the file and line";
  EXPECT_TRUE(log_has(m, "'aging_ms' must be between 0 and 3600000")) << m.log();
  EXPECT_EQ(m.stats()["policy_changes"], 0);
  auto c = connect_as(m, "a");
  EXPECT_EQ(c.run("noop", {}).status, sdk::Status::ok);
}

TEST(Reload, OtherChangesAreReportedAsNeedingARestart) {
  MediatorProcess m({{"a", "A", "high"}});
  edit_and_reload(m, "    workers: 1\n", "    workers: 2\n");
  ASSERT_TRUE(eventually([&] {
    return log_has(m, "reload: changed executors: takes effect after a restart");
  })) << m.log();
  // The running configuration still says what runs: one worker.
  EXPECT_NE(m.stats()["running_config"].get<std::string>().find("workers: 1"), std::string::npos);
  EXPECT_TRUE(log_has(m, "the policy and its settings are unchanged"));
  auto c = connect_as(m, "a");
  EXPECT_EQ(c.run("noop", {}).status, sdk::Status::ok);
}
