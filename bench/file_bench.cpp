// The file transport against TCP, in one run through one in-process mediator (fifo, one CPU
// worker, no-op jobs, so the figures are transport cost). The baseline is the original design:
// request.txt/response.txt, one request outstanding per VM, the mediator polling at its
// default interval (100 ms). Guest-side polling is the same 100 µs for every file variant.
#include <benchmark/benchmark.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "client.hpp"
#include "mediator.hpp"
#include "spool_client.hpp"

using namespace vgpu;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int kInFlight = 64;
constexpr auto kGuestPoll = std::chrono::microseconds(100);

struct MediatorFixture {
  fs::path dir = fs::temp_directory_path() / "vgpu-bench-file";
  std::unique_ptr<core::Mediator> mediator;
  std::uint16_t port = 0;

  MediatorFixture() {
    fs::remove_all(dir);
    fs::create_directories(dir);
    {
      auto db = core::ConfigDb::open(dir / "vgpu.db");
      core::VmRecord vm;
      vm.uuid = "bench";
      vm.vm_id = 1;
      db.insert_vm(vm);
    }
    core::configure_logging("warn");
    const auto root = dir.string();
    auto cfg = core::load_config_text(
        "database: {path: vgpu.db}\n"
        "transports:\n"
        "  - {plugin: tcp, port: 0}\n"
        "  - {plugin: file, root: " +
            root +
            "/inotify, detect: inotify}\n"
            "  - {plugin: file, root: " +
            root +
            "/poll, detect: poll}\n"
            "policy: {plugin: fifo}\n"
            "executors: [{plugin: cpu, workers: 1}]\n",
        "bench", dir);
    mediator = std::make_unique<core::Mediator>(cfg);
    mediator->start();
    const auto ep = mediator->endpoints().at(0);
    port = static_cast<std::uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
    while (!fs::is_directory(dir / "poll/vm1/responses")) std::this_thread::sleep_for(1ms);
  }
  ~MediatorFixture() {
    mediator->stop();
    fs::remove_all(dir);
  }
  std::string vm_dir(const char* mode) const { return (dir / mode / "vm1").string(); }
};

MediatorFixture& mediator() {
  static MediatorFixture fixture;
  return fixture;
}

const char* mode_name(int mode) {
  return mode == 0 ? "inotify" : "poll";
}

void BM_TcpRoundTrip(benchmark::State& state) {
  auto client = guest::Client::connect("127.0.0.1", mediator().port, 1, "");
  for (auto _ : state) benchmark::DoNotOptimize(client.run("noop", {}));
}
BENCHMARK(BM_TcpRoundTrip)->UseRealTime();

void BM_TcpThroughput(benchmark::State& state) {
  auto client = guest::Client::connect("127.0.0.1", mediator().port, 1, "");
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
