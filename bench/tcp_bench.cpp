// A no-op job's round trip and pipelined throughput through the real mediator over loopback
// TCP, against a raw Asio echo that moves frames of the same sizes in the same run: the ratio
// is what the mediator's admission, scheduling and executor hand-off cost.
#include <benchmark/benchmark.h>

#include <boost/asio.hpp>

#include <atomic>
#include <thread>

#include "client.hpp"
#include "mediator.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace vgpu;

namespace {

constexpr int kPipelineDepth = 64;

struct MediatorFixture {
  std::filesystem::path dir = std::filesystem::temp_directory_path() / "vgpu-bench-tcp";
  std::unique_ptr<core::Mediator> mediator;
  std::uint16_t port = 0;

  MediatorFixture() {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    {
      auto db = core::ConfigDb::open(dir / "vgpu.db");
      core::VmRecord vm;
      vm.uuid = "bench";
      vm.vm_id = 1;
      db.insert_vm(vm);
    }
    core::configure_logging("warn");
    auto cfg = core::load_config_text(
        "database: {path: vgpu.db}\n"
        "transports: [{plugin: tcp, port: 0}]\n"
        "policy: {plugin: fifo}\n"
        "executors: [{plugin: cpu, workers: 1}]\n",
        "bench", dir);
    mediator = std::make_unique<core::Mediator>(cfg);
    mediator->start();
    const auto ep = mediator->endpoints().at(0);
    port = static_cast<std::uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
  }
  ~MediatorFixture() {
    mediator->stop();
    std::filesystem::remove_all(dir);
  }
};

MediatorFixture& mediator() {
  static MediatorFixture fixture;
  return fixture;
}

// Reads frames of `in` bytes and answers each with `out` bytes, one connection at a time.
struct RawEcho {
  asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)};
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::size_t in, out;

  RawEcho(std::size_t in_bytes, std::size_t out_bytes) : in(in_bytes), out(out_bytes) {
    thread = std::thread([this] {
      for (;;) {
        tcp::socket s(io);
        boost::system::error_code ec;
        acceptor.accept(s, ec);
        if (ec || stopping) return;
        s.set_option(tcp::no_delay(true));
        std::vector<std::uint8_t> request(in), reply(out);
        while (!ec) {
          asio::read(s, asio::buffer(request), ec);
          if (!ec) asio::write(s, asio::buffer(reply), ec);
        }
      }
    });
  }
  // Closing an acceptor does not wake a blocking accept() on Linux: connect once instead.
  ~RawEcho() {
    stopping = true;
    asio::io_context wake_io;
    tcp::socket wake(wake_io);
    boost::system::error_code ignored;
    wake.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()), ignored);
    thread.join();
  }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
};

// Frame sizes of a noop SUBMIT and its RESULT, as the mediator sends them.
std::size_t submit_size() {
  return wire::frame_prefix(wire::FrameType::submit, 1, wire::Submit{"noop", {}, 0, {}}).size();
}
std::size_t result_size() {
  return wire::frame_prefix(wire::FrameType::result, 1, wire::ResultMeta{}).size();
}

void MediatorNoopRoundTrip(benchmark::State& state) {
  auto client = guest::Client::connect("127.0.0.1", mediator().port, 1, "");
  for (auto _ : state) {
    auto r = client.run("noop", {});
    if (r.status != sdk::Status::ok) state.SkipWithError(r.message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

void MediatorNoopPipelined(benchmark::State& state) {
  auto client = guest::Client::connect("127.0.0.1", mediator().port, 1, "");
  for (auto _ : state) {
    for (int i = 0; i < kPipelineDepth; ++i) client.submit("noop", {});
    for (int i = 0; i < kPipelineDepth; ++i) benchmark::DoNotOptimize(client.next_result());
  }
  state.SetItemsProcessed(state.iterations() * kPipelineDepth);
}

void RawEchoRoundTrip(benchmark::State& state) {
  RawEcho echo(submit_size(), result_size());
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), echo.port()));
  s.set_option(tcp::no_delay(true));
  std::vector<std::uint8_t> request(submit_size()), reply(result_size());
  for (auto _ : state) {
    asio::write(s, asio::buffer(request));
    asio::read(s, asio::buffer(reply));
  }
  state.SetItemsProcessed(state.iterations());
}

void RawEchoPipelined(benchmark::State& state) {
  RawEcho echo(submit_size(), result_size());
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), echo.port()));
  s.set_option(tcp::no_delay(true));
  std::vector<std::uint8_t> request(submit_size() * kPipelineDepth),
      reply(result_size() * kPipelineDepth);
  for (auto _ : state) {
    asio::write(s, asio::buffer(request));
    asio::read(s, asio::buffer(reply));
  }
  state.SetItemsProcessed(state.iterations() * kPipelineDepth);
}

}  // namespace

BENCHMARK(RawEchoRoundTrip)->UseRealTime();
BENCHMARK(MediatorNoopRoundTrip)->UseRealTime();
BENCHMARK(RawEchoPipelined)->UseRealTime();
BENCHMARK(MediatorNoopPipelined)->UseRealTime();
