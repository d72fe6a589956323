// The file transport against TCP, in one run through one in-process mediator (fifo, one CPU
// worker, no-op jobs, so the figures are transport cost). The baseline is the original design:
// request.txt/response.txt, one request outstanding per VM, the mediator polling at its
// default interval (100 ms). Guest-side polling is the same 100 µs for every file variant.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "bench_mediator.hpp"
#include "client.hpp"
#include "spool_client.hpp"

using namespace vgpu;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int kInFlight = 64;
constexpr auto kGuestPoll = std::chrono::microseconds(100);

struct MediatorFixture : bench::BenchMediator {
  MediatorFixture()
      : BenchMediator("vgpu-bench-file",
                      "  - {plugin: tcp, port: 0}\n"
                      "  - {plugin: file, root: " +
                          root() +
                          "/inotify, detect: inotify}\n"
                          "  - {plugin: file, root: " +
                          root() + "/poll, detect: poll}\n") {
    while (!fs::is_directory(dir() / "poll/vm1/responses")) std::this_thread::sleep_for(1ms);
  }
  static std::string root() { return (fs::temp_directory_path() / "vgpu-bench-file").string(); }
  std::string vm_dir(const char* mode) const { return (dir() / mode / "vm1").string(); }
};

MediatorFixture& mediator() {
  static MediatorFixture fixture;
  return fixture;
}

const char* mode_name(int mode) {
  return mode == 0 ? "inotify" : "poll";
}

void BM_TcpRoundTrip(benchmark::State& state) {
  auto client = guest::Client::connect("127.0.0.1", mediator().port(), 1, "");
  for (auto _ : state) benchmark::DoNotOptimize(client.run("noop", {}));
}
BENCHMARK(BM_TcpRoundTrip)->UseRealTime();

void BM_TcpThroughput(benchmark::State& state) {
  auto client = guest::Client::connect("127.0.0.1", mediator().port(), 1, "");
  for (auto _ : state) {
    for (int i = 0; i < kInFlight; ++i) client.submit("noop", {});
    for (int i = 0; i < kInFlight; ++i) benchmark::DoNotOptimize(client.next_result());
  }
  state.SetItemsProcessed(state.iterations() * kInFlight);
}
BENCHMARK(BM_TcpThroughput)->UseRealTime();

// The original protocol: write request.txt, wait for response.txt.
void BM_CompatRoundTrip(benchmark::State& state) {
  const fs::path vm = mediator().vm_dir(mode_name(int(state.range(0))));
  state.SetLabel(mode_name(int(state.range(0))));
  for (auto _ : state) {
    fs::remove(vm / "response.txt");
    std::ofstream(vm / "request.txt") << "A:1:1:NOOP\n";
    while (!fs::exists(vm / "response.txt")) std::this_thread::sleep_for(kGuestPoll);
  }
}
BENCHMARK(BM_CompatRoundTrip)->Arg(0)->Arg(1)->UseRealTime()->MinTime(2.0);

void BM_SpoolRoundTrip(benchmark::State& state) {
  auto client =
      guest::SpoolClient::open(mediator().vm_dir(mode_name(int(state.range(0)))), kGuestPoll);
  state.SetLabel(mode_name(int(state.range(0))));
  for (auto _ : state) benchmark::DoNotOptimize(client.run("noop", {}));
}
BENCHMARK(BM_SpoolRoundTrip)->Arg(0)->Arg(1)->UseRealTime()->MinTime(2.0);

void BM_SpoolThroughput(benchmark::State& state) {
  auto client =
      guest::SpoolClient::open(mediator().vm_dir(mode_name(int(state.range(0)))), kGuestPoll);
  state.SetLabel(mode_name(int(state.range(0))));
  for (auto _ : state) {
    for (int i = 0; i < kInFlight; ++i) client.submit("noop", {});
    for (int i = 0; i < kInFlight; ++i) benchmark::DoNotOptimize(client.next_result());
  }
  state.SetItemsProcessed(state.iterations() * kInFlight);
}
BENCHMARK(BM_SpoolThroughput)->Arg(0)->Arg(1)->UseRealTime()->MinTime(2.0);

}  // namespace
