// Policy cost: one enqueue, one dispatch and its completion with N jobs already queued, spread over
// 1k VMs in two pools and three priorities. fifo is the baseline.
#include <benchmark/benchmark.h>

#include "fifo_policy.hpp"
#include "round_robin_policy.hpp"
#include "strict_priority_policy.hpp"
#include "weighted_policy.hpp"

using namespace vgpu;

namespace {

sdk::JobPtr make_job(sdk::JobId id) {
  auto j = std::make_shared<sdk::Job>();
  j->id = id;
  const std::uint32_t vm = static_cast<std::uint32_t>(id % 1000);
  j->tenant = sdk::Tenant{vm, vm % 2 ? "B" : "A", static_cast<int>(vm % 3), 1, 1};
  return j;
}

template <typename Policy>
void EnqueueDispatch(benchmark::State& state) {
  Policy policy;
  const auto queued = static_cast<sdk::JobId>(state.range(0));
  for (sdk::JobId id = 0; id < queued; ++id) policy.enqueue(make_job(id));
  sdk::JobId next = queued;
  // Jobs are made outside the timed region: the policy's cost, not the allocator's.
  std::vector<sdk::JobPtr> batch(1024);
  std::size_t i = batch.size();
  for (auto _ : state) {
    if (i == batch.size()) {
      state.PauseTiming();
      for (auto& j : batch) j = make_job(next++);
      i = 0;
      state.ResumeTiming();
    }
    policy.enqueue(std::move(batch[i++]));
    auto job = policy.dispatch({});
    policy.completed(*job, {std::chrono::microseconds(100), {}});
    benchmark::DoNotOptimize(job);
  }
  state.counters["queued"] = static_cast<double>(policy.pending());
}

template <typename Policy>
void CancelQueued(benchmark::State& state) {
  Policy policy;
  const auto queued = static_cast<sdk::JobId>(state.range(0));
  for (sdk::JobId id = 0; id < queued; ++id) policy.enqueue(make_job(id));
  sdk::JobId next = queued, victim = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(policy.cancel(victim++));
    policy.enqueue(make_job(next++));
  }
}

}  // namespace

BENCHMARK(EnqueueDispatch<policies::FifoPolicy>)->Arg(1)->Arg(1000)->Arg(100000);
BENCHMARK(EnqueueDispatch<policies::StrictPriorityPolicy>)->Arg(1)->Arg(1000)->Arg(100000);
BENCHMARK(EnqueueDispatch<policies::RoundRobinPolicy>)->Arg(1)->Arg(1000)->Arg(100000);
BENCHMARK(EnqueueDispatch<policies::WeightedPolicy>)->Arg(1)->Arg(1000)->Arg(100000);
BENCHMARK(CancelQueued<policies::FifoPolicy>)->Arg(1000)->Arg(100000);
BENCHMARK(CancelQueued<policies::StrictPriorityPolicy>)->Arg(1000)->Arg(100000);
BENCHMARK(CancelQueued<policies::RoundRobinPolicy>)->Arg(1000)->Arg(100000);
BENCHMARK(CancelQueued<policies::WeightedPolicy>)->Arg(1000)->Arg(100000);
