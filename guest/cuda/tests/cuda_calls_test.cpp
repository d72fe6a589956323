// The remote-call codec: every call survives encoding, and a hostile batch is refused with a
// message naming the call and field, before anything runs.
#include <gtest/gtest.h>

#include <cstring>

#include "vgpu/protocol/cuda_calls.hpp"

namespace vgpu::cuda_calls {
namespace {

// A product whose every field differs from its default, so a field lost or swapped shows.
BlasGemm gemm_of_each_field() {
  BlasGemm g;
  g.stream = 3;
  g.a = 0x1000;
  g.b = 0x2000;
  g.c = 0x3000;
  g.stride_a = 1LL << 40;
  g.stride_b = 5;
  g.stride_c = 6;
  g.m = 7;
  g.n = 8;
  g.k = 9;
  g.lda = 10;
  g.ldb = 11;
  g.ldc = 12;
  g.batch = 13;
  g.trans_a = 1;
  g.trans_b = 2;
  g.type_a = 14;
  g.type_b = 2;
  g.type_c = 0;
  g.compute = 77;
  g.algo = 99;
  g.math_mode = 3;
  g.alpha[0] = 0x3f;
  g.beta[7] = 0x40;
  return g;
}

std::vector<Call> one_of_each() {
  static const std::uint8_t bytes[] = {1, 2, 3, 4, 5};
  Launch launch;
  launch.function = 7;
  launch.stream = 3;
  launch.grid[0] = 128;
  launch.block[0] = 256;
  launch.shared_bytes = 1024;
  launch.params = bytes;
  return {MemAlloc{4096},
          MemFree{0x1000},
          MemcpyHtoD{0x1000, 2, bytes},
          MemcpyDtoH{0x1000, 5, 0},
          MemcpyDtoD{0x2000, 0x1000, 5, 1},
          Memset{0x1000, 8, 0, 0xdeadbeef, 4},
          ModuleLoad{bytes},
          ModuleUnload{4},
          GetFunction{4, "_Z3addPKfS0_Pfi"},
          launch,
          StreamCreate{1, -5},
          StreamDestroy{3},
          StreamSync{3},
          StreamQuery{3},
          StreamWaitEvent{3, 9},
          EventCreate{2},
          EventDestroy{9},
          EventRecord{9, 3},
          EventSync{9},
          EventQuery{9},
          EventElapsed{9, 10},
          CtxSync{},
          MemInfo{},
          Occupancy{7, 256, 0},
          GetGlobal{4, "table"},
          MemcpyHtoDShared{0x1000, 4096, 8192, 3},
          MemcpyDtoHShared{0x2000, 65536, 4096, 0},
          FuncSetAttribute{7, 8, 65536},
          OccupancySharedMemory{7, 2, 256},
          LaunchEx{launch, {LaunchAttribute{4, {2, 1, 1}}}},
          OccupancyClusters{7, {132, 1, 1}, {128, 1, 1}, 0, {LaunchAttribute{4, {2, 1, 1}}}, 1},
          gemm_of_each_field()};
}

TEST(CudaCalls, EveryCallRoundTrips) {
  const auto calls = one_of_each();
  ASSERT_EQ(calls.size(), std::variant_size_v<Call>) << "one of each kind of call";
  Writer w;
  for (const auto& c : calls) encode(w, c);
  const auto decoded = decode_batch(w.bytes());
  ASSERT_EQ(decoded.size(), calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) EXPECT_EQ(decoded[i].index(), calls[i].index());
  const auto& launch = std::get<Launch>(decoded[9]);
  EXPECT_EQ(launch.function, 7u);
  EXPECT_EQ(launch.grid[0], 128u);
  EXPECT_EQ(launch.block[0], 256u);
  EXPECT_EQ(launch.shared_bytes, 1024u);
  ASSERT_EQ(launch.params.size(), 5u);
  EXPECT_EQ(launch.params[4], 5);
  EXPECT_EQ(std::get<GetFunction>(decoded[8]).name, "_Z3addPKfS0_Pfi");
  EXPECT_EQ(std::get<StreamCreate>(decoded[10]).priority, -5);
  EXPECT_EQ(std::get<Memset>(decoded[5]).value, 0xdeadbeefu);
  const auto& to_device = std::get<MemcpyHtoDShared>(decoded[25]);
  EXPECT_EQ(to_device.dst, 0x1000u);
  EXPECT_EQ(to_device.offset, 4096u);
  EXPECT_EQ(to_device.bytes, 8192u);
  EXPECT_EQ(to_device.stream, 3u);
  const auto& to_host = std::get<MemcpyDtoHShared>(decoded[26]);
  EXPECT_EQ(to_host.src, 0x2000u);
  EXPECT_EQ(to_host.offset, 65536u);
  EXPECT_EQ(to_host.bytes, 4096u);
  const auto& set = std::get<FuncSetAttribute>(decoded[27]);
  EXPECT_EQ(set.function, 7u);
  EXPECT_EQ(set.attribute, 8);
  EXPECT_EQ(set.value, 65536);
  EXPECT_EQ(std::get<OccupancySharedMemory>(decoded[28]).block_size, 256u);
  const auto& ex = std::get<LaunchEx>(decoded[29]);
  EXPECT_EQ(ex.launch.grid[0], 128u);
  ASSERT_EQ(ex.attributes.size(), 1u);
  EXPECT_EQ(ex.attributes[0].id, 4u);
  EXPECT_EQ(ex.attributes[0].value[0], 2u);
  ASSERT_EQ(ex.launch.params.size(), 5u);
  const auto& clusters = std::get<OccupancyClusters>(decoded[30]);
  EXPECT_EQ(clusters.grid[0], 132u);
  EXPECT_EQ(clusters.potential_size, 1);
  ASSERT_EQ(clusters.attributes.size(), 1u);
  const auto& g = std::get<BlasGemm>(decoded[31]);
  const auto want = gemm_of_each_field();
  Writer again, original;  // field by field: a field lost or read into another one shows
  encode_gemm(again, g);
  encode_gemm(original, want);
  EXPECT_EQ(again.bytes(), original.bytes()) << "every field of the product survives";
  EXPECT_EQ(g.stride_a, 1LL << 40);
  EXPECT_EQ(g.beta[7], 0x40);
  EXPECT_FALSE(needs_answer(g)) << "a product waits for nothing, like a launch";
}

TEST(CudaCalls, ABatchsPlaceInItsSessionsOrderIsReadOrRefusedWithItsReason) {
  using std::nullopt;
  auto place = parse_batch_place(nullopt, nullopt);
  EXPECT_EQ(place.seq, 0u) << "a batch without a number is not ordered";
  EXPECT_TRUE(place.error.empty());
  place = parse_batch_place("18446744073709551615", "1");
  EXPECT_EQ(place.seq, 18446744073709551615ull);
  EXPECT_TRUE(place.chained);
  place = parse_batch_place("7", "0");
  EXPECT_EQ(place.seq, 7u);
  EXPECT_FALSE(place.chained);
  for (const char* bad : {"0", "-1", "1x", "", "99999999999999999999"}) {
    place = parse_batch_place(bad, nullopt);
    EXPECT_NE(place.error.find("parameter 'seq' must be a number from 1"), std::string::npos)
        << bad << ": " << place.error;
    EXPECT_EQ(place.seq, 0u);
  }
  place = parse_batch_place("3", "yes");
  EXPECT_EQ(place.error, "parameter 'chained' must be 0 or 1");
  EXPECT_FALSE(place.chained);
  place = parse_batch_place(nullopt, "1");
  EXPECT_EQ(place.error, "parameter 'chained' needs 'seq'");
}

TEST(CudaCalls, AFeatureIsListedOnlyByItsWholeName) {
  EXPECT_TRUE(lists_feature("ordered", kFeatureOrdered));
  EXPECT_TRUE(lists_feature("later-feature,ordered", kFeatureOrdered));
  EXPECT_FALSE(lists_feature("ordered2,order", kFeatureOrdered));
  EXPECT_FALSE(lists_feature("", kFeatureOrdered));
}

TEST(CudaCalls, ALaunchWithTooManyAttributesIsRefused) {
  LaunchEx ex;
  ex.attributes.resize(kMaxLaunchAttributes + 1);
  Writer w;
  encode(w, ex);
  try {
    decode_batch(w.bytes());
    FAIL() << "17 launch attributes were accepted";
  } catch (const CallError& e) {
    EXPECT_NE(std::string(e.what()).find("launch attributes exceed 16"), std::string::npos)
        << e.what();
  }
}

TEST(CudaCalls, TruncatedBatchNamesTheCallAndField) {
  Writer w;
  encode(w, MemAlloc{1});
  encode(w, MemcpyDtoH{0x1000, 64, 0});
  auto bytes = w.bytes();
  bytes.resize(bytes.size() - 3);
  try {
    decode_batch(bytes);
    FAIL() << "a truncated batch was accepted";
  } catch (const CallError& e) {
    EXPECT_NE(std::string(e.what()).find("call 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("stream"), std::string::npos) << e.what();
  }
}

TEST(CudaCalls, ABlobLongerThanTheBatchIsRefused) {
  Writer w;
  w.u32(3);  // memcpy_htod
  w.u64(0x1000);
  w.u64(0);
  w.u64(~0ull);  // data length: far past the end
  EXPECT_THROW(decode_batch(w.bytes()), CallError);
}

TEST(CudaCalls, UnknownCallAndBadMemsetElementAreRefused) {
  Writer w;
  w.u32(999);
  EXPECT_THROW(decode_batch(w.bytes()), CallError);
  Writer m;
  encode(m, Memset{0x1000, 1, 0, 0, 3});
  EXPECT_THROW(decode_batch(m.bytes()), CallError);
}

TEST(CudaCalls, KernelParametersAreBounded) {
  std::vector<std::uint8_t> params(kMaxKernelParamBytes + 1);
  Launch launch;
  launch.params = params;
  Writer w;
  encode(w, launch);
  EXPECT_THROW(decode_batch(w.bytes()), CallError);
}

TEST(CudaCalls, ABatchMayNotAskBackMoreThanTheAnswerLimit) {
  Writer w;
  encode(w, MemcpyDtoH{0x1000, kMaxAnswerBytes / 2, 0});
  encode(w, MemcpyDtoH{0x1000, kMaxAnswerBytes / 2, 0});
  EXPECT_EQ(decode_batch(w.bytes()).size(), 2u) << "exactly the limit is fine";
  encode(w, MemcpyDtoH{0x1000, 1, 0});
  try {
    decode_batch(w.bytes());
    FAIL() << "a batch asking back more than the limit was accepted";
  } catch (const CallError& e) {
    EXPECT_NE(std::string(e.what()).find("call 2"), std::string::npos) << e.what();
  }
  Writer huge;
  encode(huge, MemcpyDtoH{0x1000, ~0ull, 0});
  EXPECT_THROW(decode_batch(huge.bytes()), CallError);
}

TEST(CudaCalls, AnswerAndDescriptionRoundTrip) {
  BatchAnswer a;
  a.calls_run = 3;
  a.result = 700;
  a.message = "launch: an illegal memory access was encountered";
  a.outputs = {{1, 2, 3}, {}};
  const auto b = decode_answer(encode_answer(a));
  EXPECT_EQ(b.calls_run, 3u);
  EXPECT_EQ(b.result, 700);
  EXPECT_EQ(b.message, a.message);
  EXPECT_EQ(b.outputs, a.outputs);

  DeviceDescription d;
  d.name = "NVIDIA H100 80GB HBM3";
  d.uuid[3] = 9;
  d.total_memory = 80ull << 30;
  d.driver_version = 13000;
  d.attributes = {0, 1024, 1024};
  d.least_priority = 0;
  d.greatest_priority = -5;
  d.session = 42;
  const auto e = decode_description(encode_description(d));
  EXPECT_EQ(e.name, d.name);
  EXPECT_EQ(e.uuid[3], 9);
  EXPECT_EQ(e.total_memory, d.total_memory);
  EXPECT_EQ(e.attributes, d.attributes);
  EXPECT_EQ(e.greatest_priority, -5);
  EXPECT_EQ(e.session, 42u);
}

TEST(CudaCalls, OnlyCallsThatReturnSomethingWaitForTheHost) {
  EXPECT_FALSE(needs_answer(Launch{}));
  EXPECT_FALSE(needs_answer(MemcpyHtoD{}));
  EXPECT_FALSE(needs_answer(EventRecord{}));
  // Their bytes are in the shared memory, not in the answer.
  EXPECT_FALSE(needs_answer(MemcpyHtoDShared{}));
  EXPECT_FALSE(needs_answer(MemcpyDtoHShared{}));
  EXPECT_TRUE(needs_answer(MemcpyDtoH{}));
  EXPECT_TRUE(needs_answer(StreamSync{}));
  EXPECT_TRUE(needs_answer(MemAlloc{}));
}

}  // namespace
}  // namespace vgpu::cuda_calls
