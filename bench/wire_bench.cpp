// Frame encode/decode cost: the metadata work per frame (buffers are gathered, never copied).
#include <benchmark/benchmark.h>

#include "vgpu/protocol/wire.hpp"

using namespace vgpu::wire;

static void EncodeSubmit(benchmark::State& state) {
  Submit s{"vector_add", {{"n", "1048576"}, {"seed", "7"}}, 0, {4194304, 4194304}};
  for (auto _ : state) benchmark::DoNotOptimize(frame_prefix(FrameType::submit, 42, s, 8388608));
}

static void DecodeSubmit(benchmark::State& state) {
  Submit s{"vector_add", {{"n", "1048576"}, {"seed", "7"}}, 0, {4194304, 4194304}};
  auto frame = frame_prefix(FrameType::submit, 42, s, 8388608);
  std::span<const std::uint8_t, kHeaderSize> header(frame.data(), kHeaderSize);
  std::span<const std::uint8_t> meta(frame.data() + kHeaderSize, frame.size() - kHeaderSize);
  for (auto _ : state) {
    auto h = decode_header(header, 1u << 30);
    auto m = decode_submit(meta);
    check_buffer_sizes(m.buffer_sizes, h.data_len);
    benchmark::DoNotOptimize(m);
  }
}

static void EncodeDecodeResult(benchmark::State& state) {
  ResultMeta r{0, "", 1000, 2000, 2000, 7, {4096}};
  for (auto _ : state) {
    auto frame = frame_prefix(FrameType::result, 42, r, 4096);
    benchmark::DoNotOptimize(
        decode_result({frame.data() + kHeaderSize, frame.size() - kHeaderSize}));
  }
}

BENCHMARK(EncodeSubmit);
BENCHMARK(DecodeSubmit);
BENCHMARK(EncodeDecodeResult);
