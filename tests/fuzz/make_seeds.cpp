// Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/<target>/) from the real
// encoders, so the fuzzers start from valid frames and files. Run again after a format change:
//   build/bin/vgpu-fuzz-make-seeds tests/fuzz/corpus
#include <filesystem>
#include <fstream>
#include <iostream>

#include "vgpu/protocol/cuda_calls.hpp"
#include "vgpu/protocol/ring.hpp"
#include "vgpu/protocol/spool.hpp"
#include "vgpu/protocol/wire.hpp"

using namespace vgpu;
namespace fs = std::filesystem;

namespace {

fs::path root;

void write(const std::string& target, const std::string& name, const std::vector<std::uint8_t>& b) {
  fs::create_directories(root / target);
  std::ofstream(root / target / name, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}
void write(const std::string& target, const std::string& name, const std::string& text) {
  write(target, name, std::vector<std::uint8_t>(text.begin(), text.end()));
}

std::vector<std::uint8_t> le32(std::uint32_t v) {
  return {std::uint8_t(v), std::uint8_t(v >> 8), std::uint8_t(v >> 16), std::uint8_t(v >> 24)};
}

std::vector<std::uint8_t> cat(std::vector<std::uint8_t> a, const std::vector<std::uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<std::uint8_t> meta_of(const std::vector<std::uint8_t>& frame) {
  return {frame.begin() + wire::kHeaderSize, frame.end()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: vgpu-fuzz-make-seeds <corpus folder>\n";
    return 2;
  }
  root = argv[1];
  const wire::Submit plain{"vector_add", {{"n", "16"}, {"seed", "3"}}, 0, {64, 64}, {}, {}};
  const wire::Submit shared{"gemm", {{"n", "2"}}, 5, {}, {{0, 16}, {16, 16}}, {{4096, 16}}};
  const auto hello = wire::frame_prefix(wire::FrameType::hello, 1, wire::Hello{7, "tok", "x"});
  const auto submit = wire::frame_prefix(wire::FrameType::submit, 2, plain, 128);
  const auto submit_shared =
      wire::frame_prefix(wire::FrameType::submit, 3, shared, 0, wire::flags_of(shared));
  const auto result =
      wire::frame_prefix(wire::FrameType::result, 2, wire::ResultMeta{0, "", 1, 2, 3, 4, {64}}, 64);
  const auto error = wire::frame_prefix(wire::FrameType::error, 0, wire::ErrorMsg{1, "bad magic"});
  wire::HelloOk ok{7, 2, "A", "vm7", 1 << 20, 4 << 20, "/dev/shm/vgpu/vm7", 4186112};

  // frame_header: 4 bytes of limit, then a header.
  for (const auto& [name, frame] : std::vector<std::pair<std::string, std::vector<std::uint8_t>>>{
           {"hello", hello}, {"submit", submit}, {"shared", submit_shared}, {"error", error}})
    write("frame_header", name, cat(le32(1 << 20), {frame.begin(), frame.begin() + 24}));

  // frame_metadata: type selector, flags (2), data_len (3), metadata.
  auto md = [](std::uint8_t type, std::uint16_t flags, std::uint32_t data_len,
               const std::vector<std::uint8_t>& meta) {
    std::vector<std::uint8_t> b{type,
                                std::uint8_t(flags),
                                std::uint8_t(flags >> 8),
                                std::uint8_t(data_len),
                                std::uint8_t(data_len >> 8),
                                std::uint8_t(data_len >> 16)};
    return cat(b, meta);
  };
  std::vector<std::uint8_t> ok_meta;
  wire::encode(ok, ok_meta);
  write("frame_metadata", "hello", md(0, 0, 0, meta_of(hello)));
  write("frame_metadata", "hello_ok", md(1, 3, 0, ok_meta));
  write("frame_metadata", "submit", md(2, 0, 128, meta_of(submit)));
  write("frame_metadata", "submit_shared", md(2, 1, 0, meta_of(submit_shared)));
  write("frame_metadata", "result", md(3, 0, 64, meta_of(result)));
  write("frame_metadata", "error", md(4, 0, 0, meta_of(error)));

  // ring: 8 bytes of head, then the ring's memory (control words, then data).
  {
    std::vector<std::uint8_t> memory(wire::kRingControlBytes + 2 * submit_shared.size());
    std::copy(submit_shared.begin(), submit_shared.end(), memory.begin() + wire::kRingControlBytes);
    const auto cancel = wire::empty_frame(wire::FrameType::cancel, 3);
    memory.insert(memory.end(), cancel.begin(), cancel.end());
    const std::uint64_t head = submit_shared.size() + cancel.size();
    std::vector<std::uint8_t> in(8);
    std::memcpy(in.data(), &head, 8);
    write("ring", "submit_then_cancel", cat(in, memory));
  }

  // shared_extents: region choice, input count, then 16-byte extents.
  {
    std::vector<std::uint8_t> in{1, 1};
    for (std::uint64_t v : {0ull, 64ull, 4096ull, 64ull, 1040000ull, 100000ull}) {
      std::vector<std::uint8_t> w(8);
      std::memcpy(w.data(), &v, 8);
      in = cat(in, w);
    }
    write("shared_extents", "two", in);
  }

  // stream_session: a whole conversation as a guest sends it.
  {
    auto conv = cat(hello, wire::empty_frame(wire::FrameType::ping, 5));
    conv = cat(conv, submit);
    conv.resize(conv.size() + 128, 0x3f);
    conv = cat(conv, wire::empty_frame(wire::FrameType::cancel, 2));
    auto hello1 = wire::frame_prefix(wire::FrameType::hello, 1, wire::Hello{1, "", "fuzz"});
    auto whole = cat(std::vector<std::uint8_t>{3}, hello1);
    auto rest = std::vector<std::uint8_t>(conv.begin() + hello.size(), conv.end());
    write("stream_session", "conversation", cat(whole, rest));
    write("stream_session", "garbage_after_hello",
          cat(cat(std::vector<std::uint8_t>{0}, hello1), std::vector<std::uint8_t>(64, 0xAB)));
  }

  // spool and compat_request: files a guest writes.
  spool::Request req{"vector_add", {{"n", "16"}}, {"a.bin", "b.bin"}, 100, {}};
  req.claimed.vm_id = 3;
  write("spool", "request", spool::encode_request(req));
  spool::Response res;
  res.message = "ok";
  res.outputs.push_back({"x.out0", 64});
  write("spool", "response", spool::encode_response(res));
  write("compat_request", "vector_add", "A:high:3:VECTOR_ADD\n");
  write("compat_request", "with_params", "B:0:12:MATRIX_MUL n=4 seed=2\n");

  // config: the shipped examples' shape.
  write("config", "minimal",
        "database:\n  path: vgpu.db\ntransports:\n  - plugin: tcp\n    port: 0\n"
        "policy:\n  plugin: strict_priority\nexecutors:\n  - plugin: cpu\n"
        "limits:\n  max_frame_bytes: 65536\nsecurity:\n  require_tokens: true\n");
  write("config", "isolated",
        "transports:\n  - plugin: file\n    root: /srv\npolicy:\n  plugin: fifo\n"
        "executors:\n  - plugin: cuda\n    isolation: process\n  - plugin: cpu\n");
  // cuda_calls: a batch a guest program sends, and the two answers its driver reads.
  {
    namespace cc = cuda_calls;
    static const std::uint8_t bytes[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    cc::Launch launch;
    launch.function = 2;
    launch.grid[0] = 4;
    launch.block[0] = 256;
    launch.params = bytes;
    cc::BlasGemm gemm;
    gemm.a = 0x7f0000000000;
    gemm.b = 0x7f0000100000;
    gemm.c = 0x7f0000200000;
    gemm.m = gemm.n = gemm.k = gemm.lda = gemm.ldb = gemm.ldc = 64;
    gemm.compute = 68;
    cc::Writer batch;
    for (const cc::Call& c : std::vector<cc::Call>{
             cc::MemAlloc{4096}, cc::ModuleLoad{bytes}, cc::GetFunction{1, "_Z3addPfi"},
             cc::MemcpyHtoD{0x7f0000000000, 0, bytes}, launch, cc::EventRecord{1, 0},
             cc::StreamCreate{1, -5}, cc::Memset{0x7f0000000000, 3, 0, 7, 4},
             cc::MemcpyDtoH{0x7f0000000000, 12, 0},
             cc::MemcpyHtoDShared{0x7f0000000000, 2 << 20, 12, 0},
             cc::MemcpyDtoHShared{0x7f0000000000, 4 << 20, 12, 0}, gemm, cc::CtxSync{}})
      cc::encode(batch, c);
    write("cuda_calls", "batch", batch.bytes());
    cc::BatchAnswer answer;
    answer.calls_run = 3;
    answer.result = 700;
    answer.message = "launch: an illegal memory access was encountered";
    answer.outputs = {{1, 2, 3, 4, 5, 6, 7, 8}};
    write("cuda_calls", "answer", cc::encode_answer(answer));
    cc::DeviceDescription d;
    d.name = "NVIDIA H100 80GB HBM3";
    d.total_memory = 80ull << 30;
    d.driver_version = 13000;
    d.attributes = {0, 1024, 1024, 64};
    d.greatest_priority = -5;
    d.session = 1;
    write("cuda_calls", "description", cc::encode_description(d));
  }
  std::cout << "seeds written under " << root << "\n";
  return 0;
}
