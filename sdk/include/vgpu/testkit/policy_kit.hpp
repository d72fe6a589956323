// The policy test kit: properties every policy must have, as a parameterised GoogleTest suite.
// Include this header in exactly one .cpp of a test program, link GTest and libdl, and
// instantiate it for your policy, built in or loaded from its plugin file:
//
//   using vgpu::testkit::PolicyKit;
//   INSTANTIATE_TEST_SUITE_P(MyPolicy, PolicyKit,
//       ::testing::Values(vgpu::testkit::plugin_policy("build/libvgpu-policy-mine.so")));
//
// The properties: no job lost or duplicated, cancel works, dispatch never returns a job twice
// or one that is not queued, the policy is work-conserving (while jobs are queued, a free slot
// gets one), pending() is exact, and all of it holds at 100k queued jobs over 1k VMs.
#pragma once

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <random>
#include <set>
#include <unordered_set>

#include "vgpu/sdk/plugin.hpp"
#include "vgpu/testkit/test_host.hpp"

namespace vgpu::testkit {

struct PolicyUnderTest {
  std::string name;
  std::function<std::unique_ptr<sdk::Policy>()> make;
  friend void PrintTo(const PolicyUnderTest& p, std::ostream* os) { *os << p.name; }
};

// Loads a policy plugin file with dlopen (kept open for the life of the test program) and makes
// instances with the given settings (as text, checked against the plugin's schema).
inline PolicyUnderTest plugin_policy(const std::string& path,
                                     std::map<std::string, std::string> settings = {}) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw std::runtime_error("cannot load " + path + ": " + ::dlerror());
  auto* d = static_cast<const sdk::PluginDescriptor*>(::dlsym(handle, sdk::kDescriptorSymbol));
  if (!d || d->magic != sdk::kDescriptorMagic || d->sdk_major != sdk::kSdkMajor ||
      d->kind != sdk::PluginKind::policy || !d->make_policy)
    throw std::runtime_error(path + " is not a policy plugin of SDK " +
                             std::to_string(sdk::kSdkMajor) + ".x");
  std::string name = d->name;
  for (const auto& [key, value] : settings) name += "_" + key + "_" + value;
  return {name, [d, settings] {
            static const TestContext context;
            return d->make_policy(TextSettings(d->settings, settings), context);
          }};
}

class PolicyKit : public ::testing::TestWithParam<PolicyUnderTest> {
 protected:
  void SetUp() override { policy_ = GetParam().make(); }

  // A job of one of `vms` VMs spread over two pools and three priorities, with a deadline and
  // an age so that deadline- or age-aware policies see varied input.
  sdk::JobPtr make_job(std::uint32_t vms = 16) {
    auto job = std::make_shared<sdk::Job>();
    job->id = next_id_++;
    const std::uint32_t vm = static_cast<std::uint32_t>(rng_() % vms) + 1;
    job->tenant = sdk::Tenant{vm, vm % 2 ? "A" : "B", static_cast<int>(vm % 3), 1.0 + vm % 4,
                              vm % 2 ? 2.0 : 1.0};
    job->op = "spin";
    job->enqueued_at = sdk::Clock::now() - std::chrono::milliseconds(rng_() % 1000);
    job->deadline = job->enqueued_at + std::chrono::milliseconds(rng_() % 5000);
    return job;
  }

  sdk::Usage usage() { return {std::chrono::microseconds(100 + rng_() % 5000), {}}; }

  // Dispatches everything, completing each job, and checks each comes out once.
  std::vector<sdk::JobId> drain(std::unordered_set<sdk::JobId>& queued) {
    std::vector<sdk::JobId> order;
    while (policy_->pending() > 0) {
      auto job = policy_->dispatch({"kit", 0});
      EXPECT_NE(job, nullptr) << "pending() = " << policy_->pending() << " but dispatch gave none";
      if (!job) break;
      EXPECT_EQ(queued.erase(job->id), 1u) << "job " << job->id << " was not queued";
      order.push_back(job->id);
      policy_->completed(*job, usage());
    }
    return order;
  }

  std::unique_ptr<sdk::Policy> policy_;
  std::mt19937_64 rng_{12345};
  sdk::JobId next_id_ = 1;
};

TEST_P(PolicyKit, EmptyPolicyDispatchesNothing) {
  EXPECT_EQ(policy_->pending(), 0u);
  EXPECT_EQ(policy_->dispatch({"kit", 0}), nullptr);
  EXPECT_EQ(policy_->cancel(42), nullptr);
}

TEST_P(PolicyKit, NoJobLostOrDuplicated) {
  std::unordered_set<sdk::JobId> queued;
  for (int i = 0; i < 2000; ++i) {
    auto job = make_job();
    queued.insert(job->id);
    policy_->enqueue(job);
  }
  EXPECT_EQ(policy_->pending(), 2000u);
  EXPECT_EQ(drain(queued).size(), 2000u);
  EXPECT_TRUE(queued.empty()) << queued.size() << " jobs never dispatched";
  EXPECT_EQ(policy_->dispatch({"kit", 0}), nullptr);
}

TEST_P(PolicyKit, CancelRemovesExactlyThatJob) {
  std::unordered_set<sdk::JobId> queued;
  std::vector<sdk::JobId> ids;
  for (int i = 0; i < 600; ++i) {
    auto job = make_job();
    queued.insert(job->id);
    ids.push_back(job->id);
    policy_->enqueue(job);
  }
  for (std::size_t i = 0; i < ids.size(); i += 3) {
    auto job = policy_->cancel(ids[i]);
    ASSERT_NE(job, nullptr) << "cancel of queued job " << ids[i];
    EXPECT_EQ(job->id, ids[i]);
    EXPECT_EQ(policy_->cancel(ids[i]), nullptr) << "cancelled twice";
    queued.erase(ids[i]);
  }
  EXPECT_EQ(policy_->pending(), 400u);
  EXPECT_EQ(policy_->cancel(999999), nullptr);
  drain(queued);
  EXPECT_TRUE(queued.empty());
}

TEST_P(PolicyKit, RandomInterleavingKeepsEveryInvariant) {
  std::unordered_set<sdk::JobId> queued, returned;
  std::vector<sdk::JobPtr> running;
  for (int step = 0; step < 20000; ++step) {
    const auto action = rng_() % 10;
    if (action < 5) {
      auto job = make_job(64);
      queued.insert(job->id);
      policy_->enqueue(job);
    } else if (action < 8) {
      auto job = policy_->dispatch({"kit", static_cast<unsigned>(step % 4)});
      if (!queued.empty()) {
        ASSERT_NE(job, nullptr) << "not work-conserving at step " << step;
      }
      if (job) {
        ASSERT_EQ(queued.erase(job->id), 1u) << "dispatched a job that is not queued";
        ASSERT_TRUE(returned.insert(job->id).second) << "dispatched twice";
        running.push_back(job);
      }
    } else if (action < 9 && !running.empty()) {
      const auto i = rng_() % running.size();
      policy_->completed(*running[i], usage());
      running.erase(running.begin() + static_cast<std::ptrdiff_t>(i));
    } else if (!queued.empty()) {
      const auto id = *queued.begin();
      ASSERT_NE(policy_->cancel(id), nullptr);
      queued.erase(id);
    }
    ASSERT_EQ(policy_->pending(), queued.size()) << "pending() is wrong at step " << step;
  }
  drain(queued);
  EXPECT_TRUE(queued.empty());
}

TEST_P(PolicyKit, HundredThousandJobsOverAThousandVms) {
  std::unordered_set<sdk::JobId> queued;
  queued.reserve(100000);
  for (int i = 0; i < 100000; ++i) {
    auto job = make_job(1000);
    queued.insert(job->id);
    policy_->enqueue(std::move(job));
  }
  ASSERT_EQ(policy_->pending(), 100000u);
  EXPECT_EQ(drain(queued).size(), 100000u);
  EXPECT_TRUE(queued.empty());
}

}  // namespace vgpu::testkit
