// The hop between the mediator and an executor's worker process (isolation: process), both
// ends polling as isolation_poll_us makes them: a job-sized message one way and a result-sized
// one back, over the socketpair alone and over the shared-memory rings. Two threads of this
// process stand for the two processes; the hop's cost is in the system calls and the cache
// lines, not in the process boundary. Compare the two rows of one run.
#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <thread>

#include "isolation/worker_protocol.hpp"

namespace {

using vgpu::core::isolation::Channel;
using vgpu::core::isolation::MessageType;
using vgpu::core::isolation::WorkerRings;

void RoundTrip(benchmark::State& state) {
  const bool rings = state.range(0) == 1;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    state.SkipWithError("socketpair failed");
    return;
  }
  Channel mediator(fds[0]), worker(fds[1]);
  if (rings) {
    auto shared = WorkerRings::create();
    mediator.use_rings(shared, true);
    worker.use_rings(shared, false);
  }
  mediator.set_poll(std::chrono::seconds(1));
  worker.set_poll(std::chrono::seconds(1));
  // The worker's side: answers each job with a result until told to stop.
  std::thread echo([&] {
    const std::string result(96, 'r');
    while (auto m = worker.receive()) {
      if (m->type == MessageType::shutdown) break;
      worker.send(MessageType::result, result);
    }
  });
  const std::string job(200, 'j');  // a probe's job: an op name, a few parameters, no inputs
  for (auto _ : state) {
    mediator.send(MessageType::job, job);
    auto back = mediator.receive();
    benchmark::DoNotOptimize(back);
  }
  mediator.send(MessageType::shutdown, {});
  echo.join();
  state.SetLabel(rings ? "rings" : "socketpair");
}
BENCHMARK(RoundTrip)->Arg(0)->Arg(1)->UseRealTime()->MinTime(1.0);

}  // namespace
