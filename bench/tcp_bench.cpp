// A no-op job's round trip and pipelined throughput through the real mediator over loopback
// TCP, against a raw Asio echo that moves frames of the same sizes in the same run: the ratio
// is what the mediator's admission, scheduling and executor hand-off cost.
#include <benchmark/benchmark.h>

#include <boost/asio.hpp>

#include <atomic>
#include <thread>

#include "bench_mediator.hpp"
#include "client.hpp"

namespace asio = boost::asio;
using asio::ip::tcp;
using namespace vgpu;

namespace {

constexpr int kPipelineDepth = 64;

struct MediatorFixture : bench::BenchMediator {
  MediatorFixture() : BenchMediator("vgpu-bench-tcp", "  - {plugin: tcp, port: 0}\n") {}
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
  return wire::frame_prefix(wire::FrameType::submit, 1, wire::Submit{"noop", {}, 0, {}, {}, {}})
      .size();
}
std::size_t result_size() {
  return wire::frame_prefix(wire::FrameType::result, 1, wire::ResultMeta{}).size();
}

void MediatorNoopRoundTrip(benchmark::State& state) {
  auto client = guest::Client::connect("127.0.0.1", mediator().port(), 1, "");
  for (auto _ : state) {
    auto r = client.run("noop", {});
    if (r.status != sdk::Status::ok) state.SkipWithError(r.message.c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

void MediatorNoopPipelined(benchmark::State& state) {
  auto client = guest::Client::connect("127.0.0.1", mediator().port(), 1, "");
  for (auto _ : state) {
    for (int i = 0; i < kPipelineDepth; ++i) client.submit("noop", {});
    for (int i = 0; i < kPipelineDepth; ++i) benchmark::DoNotOptimize(client.next_result());
  }
  state.SetItemsProcessed(state.iterations() * kPipelineDepth);
}

// A saxpy whose two inputs travel inline in the SUBMIT (range(0) bytes each) and whose output
// comes back in the RESULT: the data section is read as it arrives (docs/hardening.md), so
// this shows what that costs against a whole-buffer read.
void MediatorInlineInputs(benchmark::State& state) {
  auto client = guest::Client::connect("127.0.0.1", mediator().port(), 1, "");
  const std::size_t bytes = static_cast<std::size_t>(state.range(0));
  const std::vector<sdk::Buffer> inputs{sdk::Buffer(bytes, 1), sdk::Buffer(bytes, 2)};
  for (auto _ : state) {
    auto r = client.run("saxpy", {}, inputs);
    if (r.status != sdk::Status::ok) state.SkipWithError(r.message.c_str());
  }
  state.SetBytesProcessed(state.iterations() * 3 * std::int64_t(bytes));
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
BENCHMARK(MediatorInlineInputs)->Arg(64 << 10)->Arg(1 << 20)->Arg(16 << 20)->UseRealTime();
