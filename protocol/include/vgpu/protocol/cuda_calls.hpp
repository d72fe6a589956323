// Remote CUDA driver calls: what the guest's libcuda (libvgpu-cuda) sends the mediator inside
// the jobs `cuda.open`, `cuda.calls` and `cuda.close`, and what comes back. One `cuda.calls`
// job carries a batch of calls that the host runs in order; the guest records the calls that
// need no answer (launches, copies to the device, memsets, event records) and sends them with
// the next call that does. Layout and rationale: docs/remote-cuda.md. Little-endian throughout.
//
// Everything here is read by the host from a guest, so decoding is checked: a short or
// malformed batch throws CallError naming the call and field, and no size is trusted before it
// is compared with what is left.
#pragma once

#include <charconv>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vgpu::cuda_calls {

inline constexpr std::string_view kOpOpen = "cuda.open";
inline constexpr std::string_view kOpCalls = "cuda.calls";
inline constexpr std::string_view kOpClose = "cuda.close";
// The job parameter naming the session a `cuda.calls` or `cuda.close` job belongs to.
inline constexpr std::string_view kSessionParam = "session";
// Ordered batches (docs/remote-cuda.md, "Two batches in flight"). A guest that can use them asks
// `cuda.open` with kFeaturesParam = the features it knows, comma-separated; a host that knows
// the parameter answers a second output, the features it honours (a host that does not answers
// the description alone, and the guest keeps one batch in flight). With kFeatureOrdered, a
// `cuda.calls` job may carry kSeqParam (its number in the session's order, from 1) and
// kChainedParam = "1": sent before the guest saw batch seq - 1's answer, so the host runs it
// only after that batch, and not at all when that batch failed.
inline constexpr std::string_view kFeaturesParam = "features";
inline constexpr std::string_view kFeatureOrdered = "ordered";
inline constexpr std::string_view kSeqParam = "seq";
inline constexpr std::string_view kChainedParam = "chained";

// A batch's place in its session's order, from its kSeqParam and kChainedParam (either may be
// absent). `error` names what is malformed; seq 0 means the batch is not ordered.
struct BatchPlace {
  std::uint64_t seq = 0;
  bool chained = false;
  std::string error;
};
inline BatchPlace parse_batch_place(std::optional<std::string_view> seq,
                                    std::optional<std::string_view> chained);
// Whether a comma-separated list of feature names (kFeaturesParam's value) names `feature`.
inline bool lists_feature(std::string_view list, std::string_view feature);

// Limits a batch must respect (the mediator's frame limit applies on top).
inline constexpr std::size_t kMaxCallsPerBatch = 65536;
inline constexpr std::size_t kMaxKernelParamBytes = 32764;  // CUDA 12.1+ kernel parameter limit
inline constexpr std::size_t kMaxNameBytes = 4096;          // a kernel's mangled name
// The bytes one batch may ask back (its copies to the host together): the session process holds
// them in memory until the answer leaves, so a guest may not make it hold more. The guest
// library splits larger copies.
inline constexpr std::uint64_t kMaxAnswerBytes = std::uint64_t(256) << 20;
inline constexpr std::uint64_t kMaxCopyBytes = kMaxAnswerBytes / 2;

class CallError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// ---- byte-level writer and checked reader ----

class Writer {
 public:
  std::vector<std::uint8_t>& bytes() { return out_; }
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u32(std::uint32_t v) { put(v); }
  void i32(std::int32_t v) { put(static_cast<std::uint32_t>(v)); }
  void u64(std::uint64_t v) { put(v); }
  void f32(float v) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, 4);
    put(bits);
  }
  void blob(const void* data, std::size_t n) {
    u64(n);
    const auto* p = static_cast<const std::uint8_t*>(data);
    out_.insert(out_.end(), p, p + n);
  }
  void str(std::string_view s) { blob(s.data(), s.size()); }

 private:
  template <typename T>
  void put(T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i)
      out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  std::vector<std::uint8_t> out_;
};

class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> in) : in_(in) {}
  std::uint8_t u8(const char* field) { return take<std::uint8_t>(field); }
  std::uint32_t u32(const char* field) { return take<std::uint32_t>(field); }
  std::int32_t i32(const char* field) {
    return static_cast<std::int32_t>(take<std::uint32_t>(field));
  }
  std::uint64_t u64(const char* field) { return take<std::uint64_t>(field); }
  float f32(const char* field) {
    const std::uint32_t bits = take<std::uint32_t>(field);
    float v;
    std::memcpy(&v, &bits, 4);
    return v;
  }
  // A length-prefixed byte range of at most `max` bytes, pointing into the input.
  std::span<const std::uint8_t> blob(const char* field, std::size_t max) {
    const std::uint64_t n = u64(field);
    if (n > max)
      throw CallError(std::string(field) + " of " + std::to_string(n) + " bytes exceeds " +
                      std::to_string(max));
    if (n > left())
      throw CallError(std::string(field) + " of " + std::to_string(n) +
                      " bytes runs past the end of the batch");
    auto s = in_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  std::string str(const char* field, std::size_t max) {
    auto b = blob(field, max);
    return std::string(reinterpret_cast<const char*>(b.data()), b.size());
  }
  std::size_t left() const { return in_.size() - pos_; }
  bool done() const { return pos_ == in_.size(); }

 private:
  template <typename T>
  T take(const char* field) {
    if (left() < sizeof(T)) throw CallError(std::string("truncated field '") + field + "'");
    T v = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) v |= static_cast<T>(in_[pos_ + i]) << (8 * i);
    pos_ += sizeof(T);
    return v;
  }
  std::span<const std::uint8_t> in_;
  std::size_t pos_ = 0;
};

// ---- the calls ----
// Handles (modules, functions, streams, events) are numbers the host gave out in this session;
// 0 as a stream is the session's default stream. Device pointers are the host's own (the
// session's context has an address space of its own, so a pointer means nothing elsewhere).

struct MemAlloc {
  std::uint64_t bytes = 0;
};  // -> u64 pointer
struct MemFree {
  std::uint64_t ptr = 0;
};
struct MemcpyHtoD {
  std::uint64_t dst = 0, stream = 0;
  std::span<const std::uint8_t> data;
};
struct MemcpyDtoH {
  std::uint64_t src = 0, bytes = 0, stream = 0;
};  // -> the bytes
struct MemcpyDtoD {
  std::uint64_t dst = 0, src = 0, bytes = 0, stream = 0;
};
struct Memset {
  std::uint64_t dst = 0, count = 0, stream = 0;
  std::uint32_t value = 0;
  std::uint8_t element = 1;
};
struct ModuleLoad {
  std::span<const std::uint8_t> image;
};  // -> u64 module
struct ModuleUnload {
  std::uint64_t module = 0;
};
// -> u64 function, u32 parameter count, then per parameter u32 offset and u32 size,
//    then the function's attributes (u32 count, i32 each, CUfunction_attribute order).
struct GetFunction {
  std::uint64_t module = 0;
  std::string name;
};
struct Launch {
  std::uint64_t function = 0, stream = 0;
  std::uint32_t grid[3] = {1, 1, 1}, block[3] = {1, 1, 1}, shared_bytes = 0;
  std::span<const std::uint8_t> params;  // the parameter buffer, laid out as the kernel expects
};
struct StreamCreate {
  std::uint32_t flags = 0;
  std::int32_t priority = 0;
};  // -> u64 stream
struct StreamDestroy {
  std::uint64_t stream = 0;
};
struct StreamSync {
  std::uint64_t stream = 0;
};
struct StreamQuery {
  std::uint64_t stream = 0;
};  // result: 0 done, 600 not ready
struct StreamWaitEvent {
  std::uint64_t stream = 0, event = 0;
};
struct EventCreate {
  std::uint32_t flags = 0;
};  // -> u64 event
struct EventDestroy {
  std::uint64_t event = 0;
};
struct EventRecord {
  std::uint64_t event = 0, stream = 0;
};
struct EventSync {
  std::uint64_t event = 0;
};
struct EventQuery {
  std::uint64_t event = 0;
};
struct EventElapsed {
  std::uint64_t start = 0, end = 0;
};  // -> f32 milliseconds
struct CtxSync {};
struct MemInfo {};  // -> u64 free, u64 total
struct Occupancy {
  std::uint64_t function = 0;
  std::uint32_t block_size = 0;
  std::uint64_t shared_bytes = 0;
};  // -> i32 blocks
// A module's global variable (__device__, __constant__) by name.
struct GetGlobal {
  std::uint64_t module = 0;
  std::string name;
};  // -> u64 address, u64 bytes
// Copies through the VM's shared memory (docs/remote-cuda.md, "Copies through shared memory"):
// `bytes` at `offset` of the region the session was given, which the guest filled (to the
// device) or reads after the batch's answer (to the host). The host checks the range against
// the region, and is done with it when the batch is answered, so the guest may then reuse it.
struct MemcpyHtoDShared {
  std::uint64_t dst = 0, offset = 0, bytes = 0, stream = 0;
};
struct MemcpyDtoHShared {
  std::uint64_t src = 0, offset = 0, bytes = 0, stream = 0;
};
// cuFuncSetAttribute (a kernel's dynamic shared memory limit, carveout, cluster settings): the
// host's driver checks the value.
struct FuncSetAttribute {
  std::uint64_t function = 0;
  std::int32_t attribute = 0, value = 0;
};
// A launch attribute of cuLaunchKernelEx that carries plain numbers (cluster dimensions, cluster
// scheduling, cooperative, priority, memory sync domain, shared memory carveout, programmatic
// serialization): CUlaunchAttributeID and up to three u32 values. The host accepts only those.
struct LaunchAttribute {
  std::uint32_t id = 0;
  std::uint32_t value[3] = {0, 0, 0};
};
inline constexpr std::size_t kMaxLaunchAttributes = 16;
struct LaunchEx {
  Launch launch;
  std::vector<LaunchAttribute> attributes;
};
// cuOccupancyMaxActiveClusters (potential_size 0) or cuOccupancyMaxPotentialClusterSize (1) for a
// launch configuration.
struct OccupancyClusters {
  std::uint64_t function = 0;
  std::uint32_t grid[3] = {1, 1, 1}, block[3] = {1, 1, 1}, shared_bytes = 0;
  std::vector<LaunchAttribute> attributes;
  std::uint8_t potential_size = 0;
};  // -> i32
// cuOccupancyAvailableDynamicSMemPerBlock.
struct OccupancySharedMemory {
  std::uint64_t function = 0;
  std::uint32_t blocks = 0, block_size = 0;
};  // -> u64 bytes

// cuBLAS's matrix products (cublasSgemm, cublasGemmEx and their strided batched forms), run by
// the host's cuBLAS in the session's context (docs/remote-cuda.md, "cuBLAS on the host"):
// C = alpha op(A) op(B) + beta C, column-major, `batch` times with the strides (in elements).
// Types are cudaDataType and cublasComputeType_t numbers; alpha and beta are the host scalars'
// bytes in the compute type's scale type. The host checks every matrix lies in the session's
// memory (blas_gemm_check.hpp).
struct BlasGemm {
  std::uint64_t stream = 0, a = 0, b = 0, c = 0;
  std::int64_t stride_a = 0, stride_b = 0, stride_c = 0;
  std::int32_t m = 0, n = 0, k = 0, lda = 0, ldb = 0, ldc = 0, batch = 1;
  std::uint32_t trans_a = 0, trans_b = 0;  // cublasOperation_t: 0 N, 1 T, 2 C
  std::uint32_t type_a = 0, type_b = 0, type_c = 0, compute = 0;
  std::int32_t algo = -1;       // cublasGemmAlgo_t; -1 is CUBLAS_GEMM_DEFAULT
  std::uint32_t math_mode = 0;  // cublasMath_t
  std::uint8_t alpha[8] = {}, beta[8] = {};
};

using Call =
    std::variant<MemAlloc, MemFree, MemcpyHtoD, MemcpyDtoH, MemcpyDtoD, Memset, ModuleLoad,
                 ModuleUnload, GetFunction, Launch, StreamCreate, StreamDestroy, StreamSync,
                 StreamQuery, StreamWaitEvent, EventCreate, EventDestroy, EventRecord, EventSync,
                 EventQuery, EventElapsed, CtxSync, MemInfo, Occupancy, GetGlobal, MemcpyHtoDShared,
                 MemcpyDtoHShared, FuncSetAttribute, OccupancySharedMemory, LaunchEx,
                 OccupancyClusters, BlasGemm>;

// The wire code of each call is its index in Call plus one.
inline constexpr const char* kCallNames[] = {"mem_alloc",
                                             "mem_free",
                                             "memcpy_htod",
                                             "memcpy_dtoh",
                                             "memcpy_dtod",
                                             "memset",
                                             "module_load",
                                             "module_unload",
                                             "get_function",
                                             "launch",
                                             "stream_create",
                                             "stream_destroy",
                                             "stream_sync",
                                             "stream_query",
                                             "stream_wait_event",
                                             "event_create",
                                             "event_destroy",
                                             "event_record",
                                             "event_sync",
                                             "event_query",
                                             "event_elapsed",
                                             "ctx_sync",
                                             "mem_info",
                                             "occupancy",
                                             "get_global",
                                             "memcpy_htod_shared",
                                             "memcpy_dtoh_shared",
                                             "func_set_attribute",
                                             "occupancy_shared_memory",
                                             "launch_ex",
                                             "occupancy_clusters",
                                             "blas_gemm"};
static_assert(std::size(kCallNames) == std::variant_size_v<Call>);

inline const char* call_name(const Call& c) {
  return kCallNames[c.index()];
}

// Whether the call puts an output in the batch's answer (it returns something, or it is a
// synchronizing call the guest waits for); the others are recorded and sent with the next batch.
// The copies through shared memory answer nothing: their bytes are in the region, and the guest
// sends their batch at once.
inline bool needs_answer(const Call& c) {
  return !(std::holds_alternative<MemcpyHtoD>(c) || std::holds_alternative<MemcpyHtoDShared>(c) ||
           std::holds_alternative<MemcpyDtoHShared>(c) ||
           std::holds_alternative<FuncSetAttribute>(c) || std::holds_alternative<LaunchEx>(c) ||
           std::holds_alternative<BlasGemm>(c) || std::holds_alternative<MemcpyDtoD>(c) ||
           std::holds_alternative<Memset>(c) || std::holds_alternative<Launch>(c) ||
           std::holds_alternative<EventRecord>(c) || std::holds_alternative<StreamWaitEvent>(c) ||
           std::holds_alternative<MemFree>(c) || std::holds_alternative<ModuleUnload>(c) ||
           std::holds_alternative<StreamDestroy>(c) || std::holds_alternative<EventDestroy>(c));
}

// ---- encoding (guest side) ----

inline void encode_attributes(Writer& w, const std::vector<LaunchAttribute>& attributes) {
  w.u32(static_cast<std::uint32_t>(attributes.size()));
  for (const auto& a : attributes) {
    w.u32(a.id);
    for (auto v : a.value) w.u32(v);
  }
}

// One field after another, in BlasGemm's order (written out: nvcc's front end rejects loops over
// braced lists in a header it compiles).
inline void encode_gemm(Writer& w, const BlasGemm& c) {
  w.u64(c.stream);
  w.u64(c.a);
  w.u64(c.b);
  w.u64(c.c);
  w.u64(static_cast<std::uint64_t>(c.stride_a));
  w.u64(static_cast<std::uint64_t>(c.stride_b));
  w.u64(static_cast<std::uint64_t>(c.stride_c));
  const std::int32_t sizes[] = {c.m, c.n, c.k, c.lda, c.ldb, c.ldc, c.batch};
  for (std::int32_t v : sizes) w.i32(v);
  const std::uint32_t kinds[] = {c.trans_a, c.trans_b, c.type_a, c.type_b, c.type_c, c.compute};
  for (std::uint32_t v : kinds) w.u32(v);
  w.i32(c.algo);
  w.u32(c.math_mode);
  for (std::uint8_t v : c.alpha) w.u8(v);
  for (std::uint8_t v : c.beta) w.u8(v);
}

inline BlasGemm decode_gemm(Reader& r) {
  BlasGemm c;
  c.stream = r.u64("stream");
  c.a = r.u64("a");
  c.b = r.u64("b");
  c.c = r.u64("c");
  c.stride_a = static_cast<std::int64_t>(r.u64("stride_a"));
  c.stride_b = static_cast<std::int64_t>(r.u64("stride_b"));
  c.stride_c = static_cast<std::int64_t>(r.u64("stride_c"));
  std::int32_t* sizes[] = {&c.m, &c.n, &c.k, &c.lda, &c.ldb, &c.ldc, &c.batch};
  for (std::int32_t* v : sizes) *v = r.i32("matrix size");
  std::uint32_t* kinds[] = {&c.trans_a, &c.trans_b, &c.type_a, &c.type_b, &c.type_c, &c.compute};
  for (std::uint32_t* v : kinds) *v = r.u32("operation or type");
  c.algo = r.i32("algo");
  c.math_mode = r.u32("math_mode");
  for (std::uint8_t& v : c.alpha) v = r.u8("alpha");
  for (std::uint8_t& v : c.beta) v = r.u8("beta");
  return c;
}

inline void encode(Writer& w, const Call& call) {
  w.u32(static_cast<std::uint32_t>(call.index() + 1));
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, MemAlloc>)
          w.u64(c.bytes);
        else if constexpr (std::is_same_v<T, MemFree>)
          w.u64(c.ptr);
        else if constexpr (std::is_same_v<T, MemcpyHtoD>) {
          w.u64(c.dst);
          w.u64(c.stream);
          w.blob(c.data.data(), c.data.size());
        } else if constexpr (std::is_same_v<T, MemcpyDtoH>) {
          w.u64(c.src);
          w.u64(c.bytes);
          w.u64(c.stream);
        } else if constexpr (std::is_same_v<T, MemcpyDtoD>) {
          w.u64(c.dst);
          w.u64(c.src);
          w.u64(c.bytes);
          w.u64(c.stream);
        } else if constexpr (std::is_same_v<T, Memset>) {
          w.u64(c.dst);
          w.u64(c.count);
          w.u64(c.stream);
          w.u32(c.value);
          w.u8(c.element);
        } else if constexpr (std::is_same_v<T, ModuleLoad>)
          w.blob(c.image.data(), c.image.size());
        else if constexpr (std::is_same_v<T, ModuleUnload>)
          w.u64(c.module);
        else if constexpr (std::is_same_v<T, GetFunction>) {
          w.u64(c.module);
          w.str(c.name);
        } else if constexpr (std::is_same_v<T, Launch>) {
          w.u64(c.function);
          w.u64(c.stream);
          for (auto g : c.grid) w.u32(g);
          for (auto b : c.block) w.u32(b);
          w.u32(c.shared_bytes);
          w.blob(c.params.data(), c.params.size());
        } else if constexpr (std::is_same_v<T, StreamCreate>) {
          w.u32(c.flags);
          w.i32(c.priority);
        } else if constexpr (std::is_same_v<T, StreamDestroy> || std::is_same_v<T, StreamSync> ||
                             std::is_same_v<T, StreamQuery>)
          w.u64(c.stream);
        else if constexpr (std::is_same_v<T, StreamWaitEvent>) {
          w.u64(c.stream);
          w.u64(c.event);
        } else if constexpr (std::is_same_v<T, EventCreate>)
          w.u32(c.flags);
        else if constexpr (std::is_same_v<T, EventDestroy> || std::is_same_v<T, EventSync> ||
                           std::is_same_v<T, EventQuery>)
          w.u64(c.event);
        else if constexpr (std::is_same_v<T, EventRecord>) {
          w.u64(c.event);
          w.u64(c.stream);
        } else if constexpr (std::is_same_v<T, EventElapsed>) {
          w.u64(c.start);
          w.u64(c.end);
        } else if constexpr (std::is_same_v<T, Occupancy>) {
          w.u64(c.function);
          w.u32(c.block_size);
          w.u64(c.shared_bytes);
        } else if constexpr (std::is_same_v<T, GetGlobal>) {
          w.u64(c.module);
          w.str(c.name);
        } else if constexpr (std::is_same_v<T, MemcpyHtoDShared>) {
          w.u64(c.dst);
          w.u64(c.offset);
          w.u64(c.bytes);
          w.u64(c.stream);
        } else if constexpr (std::is_same_v<T, MemcpyDtoHShared>) {
          w.u64(c.src);
          w.u64(c.offset);
          w.u64(c.bytes);
          w.u64(c.stream);
        } else if constexpr (std::is_same_v<T, FuncSetAttribute>) {
          w.u64(c.function);
          w.i32(c.attribute);
          w.i32(c.value);
        } else if constexpr (std::is_same_v<T, OccupancySharedMemory>) {
          w.u64(c.function);
          w.u32(c.blocks);
          w.u32(c.block_size);
        } else if constexpr (std::is_same_v<T, LaunchEx>) {
          w.u64(c.launch.function);
          w.u64(c.launch.stream);
          for (auto g : c.launch.grid) w.u32(g);
          for (auto b : c.launch.block) w.u32(b);
          w.u32(c.launch.shared_bytes);
          encode_attributes(w, c.attributes);
          w.blob(c.launch.params.data(), c.launch.params.size());
        } else if constexpr (std::is_same_v<T, OccupancyClusters>) {
          w.u64(c.function);
          for (auto g : c.grid) w.u32(g);
          for (auto b : c.block) w.u32(b);
          w.u32(c.shared_bytes);
          encode_attributes(w, c.attributes);
          w.u8(c.potential_size);
        } else if constexpr (std::is_same_v<T, BlasGemm>) {
          encode_gemm(w, c);
        }
      },
      call);
}

// ---- decoding (host side) ----
// The spans in the decoded calls point into `batch`, which must outlive them.

inline std::vector<LaunchAttribute> decode_attributes(Reader& r) {
  const std::uint32_t n = r.u32("attributes");
  if (n > kMaxLaunchAttributes)
    throw CallError(std::to_string(n) + " launch attributes exceed " +
                    std::to_string(kMaxLaunchAttributes));
  std::vector<LaunchAttribute> attributes(n);
  for (auto& a : attributes) {
    a.id = r.u32("attribute id");
    for (auto& v : a.value) v = r.u32("attribute value");
  }
  return attributes;
}

inline Call decode_one(Reader& r) {
  const std::uint32_t code = r.u32("call");
  switch (code) {
    case 1:
      return MemAlloc{r.u64("bytes")};
    case 2:
      return MemFree{r.u64("ptr")};
    case 3: {
      MemcpyHtoD c;
      c.dst = r.u64("dst");
      c.stream = r.u64("stream");
      c.data = r.blob("data", SIZE_MAX);
      return c;
    }
    case 4: {
      MemcpyDtoH c;
      c.src = r.u64("src");
      c.bytes = r.u64("bytes");
      c.stream = r.u64("stream");
      return c;
    }
    case 5: {
      MemcpyDtoD c;
      c.dst = r.u64("dst");
      c.src = r.u64("src");
      c.bytes = r.u64("bytes");
      c.stream = r.u64("stream");
      return c;
    }
    case 6: {
      Memset c;
      c.dst = r.u64("dst");
      c.count = r.u64("count");
      c.stream = r.u64("stream");
      c.value = r.u32("value");
      c.element = r.u8("element");
      if (c.element != 1 && c.element != 2 && c.element != 4)
        throw CallError("memset: element size " + std::to_string(c.element) + " is not 1, 2 or 4");
      return c;
    }
    case 7:
      return ModuleLoad{r.blob("image", SIZE_MAX)};
    case 8:
      return ModuleUnload{r.u64("module")};
    case 9: {
      GetFunction c;
      c.module = r.u64("module");
      c.name = r.str("name", kMaxNameBytes);
      return c;
    }
    case 10: {
      Launch c;
      c.function = r.u64("function");
      c.stream = r.u64("stream");
      for (auto& g : c.grid) g = r.u32("grid");
      for (auto& b : c.block) b = r.u32("block");
      c.shared_bytes = r.u32("shared_bytes");
      c.params = r.blob("params", kMaxKernelParamBytes);
      return c;
    }
    case 11: {
      StreamCreate c;
      c.flags = r.u32("flags");
      c.priority = r.i32("priority");
      return c;
    }
    case 12:
      return StreamDestroy{r.u64("stream")};
    case 13:
      return StreamSync{r.u64("stream")};
    case 14:
      return StreamQuery{r.u64("stream")};
    case 15: {
      StreamWaitEvent c;
      c.stream = r.u64("stream");
      c.event = r.u64("event");
      return c;
    }
    case 16:
      return EventCreate{r.u32("flags")};
    case 17:
      return EventDestroy{r.u64("event")};
    case 18: {
      EventRecord c;
      c.event = r.u64("event");
      c.stream = r.u64("stream");
      return c;
    }
    case 19:
      return EventSync{r.u64("event")};
    case 20:
      return EventQuery{r.u64("event")};
    case 21: {
      EventElapsed c;
      c.start = r.u64("start");
      c.end = r.u64("end");
      return c;
    }
    case 22:
      return CtxSync{};
    case 23:
      return MemInfo{};
    case 24: {
      Occupancy c;
      c.function = r.u64("function");
      c.block_size = r.u32("block_size");
      c.shared_bytes = r.u64("shared_bytes");
      return c;
    }
    case 25: {
      GetGlobal c;
      c.module = r.u64("module");
      c.name = r.str("name", kMaxNameBytes);
      return c;
    }
    case 26: {
      MemcpyHtoDShared c;
      c.dst = r.u64("dst");
      c.offset = r.u64("offset");
      c.bytes = r.u64("bytes");
      c.stream = r.u64("stream");
      return c;
    }
    case 27: {
      MemcpyDtoHShared c;
      c.src = r.u64("src");
      c.offset = r.u64("offset");
      c.bytes = r.u64("bytes");
      c.stream = r.u64("stream");
      return c;
    }
    case 28: {
      FuncSetAttribute c;
      c.function = r.u64("function");
      c.attribute = r.i32("attribute");
      c.value = r.i32("value");
      return c;
    }
    case 29: {
      OccupancySharedMemory c;
      c.function = r.u64("function");
      c.blocks = r.u32("blocks");
      c.block_size = r.u32("block_size");
      return c;
    }
    case 30: {
      LaunchEx c;
      c.launch.function = r.u64("function");
      c.launch.stream = r.u64("stream");
      for (auto& g : c.launch.grid) g = r.u32("grid");
      for (auto& b : c.launch.block) b = r.u32("block");
      c.launch.shared_bytes = r.u32("shared_bytes");
      c.attributes = decode_attributes(r);
      c.launch.params = r.blob("params", kMaxKernelParamBytes);
      return c;
    }
    case 31: {
      OccupancyClusters c;
      c.function = r.u64("function");
      for (auto& g : c.grid) g = r.u32("grid");
      for (auto& b : c.block) b = r.u32("block");
      c.shared_bytes = r.u32("shared_bytes");
      c.attributes = decode_attributes(r);
      c.potential_size = r.u8("potential_size");
      return c;
    }
    case 32:
      return decode_gemm(r);
    default:
      throw CallError("unknown call code " + std::to_string(code));
  }
}

inline std::vector<Call> decode_batch(std::span<const std::uint8_t> batch) {
  Reader r(batch);
  std::vector<Call> calls;
  std::uint64_t answer_bytes = 0;
  while (!r.done()) {
    if (calls.size() == kMaxCallsPerBatch)
      throw CallError("more than " + std::to_string(kMaxCallsPerBatch) + " calls in one batch");
    const std::size_t index = calls.size();
    try {
      Call call = decode_one(r);
      if (const auto* back = std::get_if<MemcpyDtoH>(&call)) {
        if (back->bytes > kMaxAnswerBytes - answer_bytes)
          throw CallError("copies to the host in one batch exceed " +
                          std::to_string(kMaxAnswerBytes) + " bytes");
        answer_bytes += back->bytes;
      }
      calls.push_back(std::move(call));
    } catch (const CallError& e) {
      throw CallError("call " + std::to_string(index) + ": " + e.what());
    }
  }
  return calls;
}

// ---- the answer to a batch ----
// u32 calls_run (the calls that ran: all of them, or up to and including the one that failed),
// i32 result (CUresult of the failed call, 0 when all ran), str message (empty when all ran),
// then each answering call's output in order: its bytes as a blob.

struct BatchAnswer {
  std::uint32_t calls_run = 0;
  std::int32_t result = 0;
  std::string message;
  std::vector<std::vector<std::uint8_t>> outputs;  // one per call that ran and needs an answer
};

inline std::vector<std::uint8_t> encode_answer(const BatchAnswer& a) {
  Writer w;
  w.u32(a.calls_run);
  w.i32(a.result);
  w.str(a.message);
  w.u32(static_cast<std::uint32_t>(a.outputs.size()));
  for (const auto& o : a.outputs) w.blob(o.data(), o.size());
  return std::move(w.bytes());
}

inline BatchAnswer decode_answer(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  BatchAnswer a;
  a.calls_run = r.u32("calls_run");
  a.result = r.i32("result");
  a.message = r.str("message", 65536);
  const std::uint32_t n = r.u32("outputs");
  if (n > kMaxCallsPerBatch) throw CallError("answer lists " + std::to_string(n) + " outputs");
  for (std::uint32_t i = 0; i < n; ++i) {
    auto b = r.blob("output", SIZE_MAX);
    a.outputs.emplace_back(b.begin(), b.end());
  }
  if (!r.done()) throw CallError("trailing bytes after the answer");
  return a;
}

// ---- cuda.open's answer: the device as the guest's driver describes it ----
// str name, 16 bytes uuid, u64 total memory (the VM's quota when it has one), i32 driver
// version, u32 attribute count, i32 each (CUdevice_attribute 1..count; index 0 unused), i32
// least and i32 greatest stream priority the VM's streams may have, u64 session.

struct DeviceDescription {
  std::string name;
  std::uint8_t uuid[16] = {};
  std::uint64_t total_memory = 0;
  std::int32_t driver_version = 0;
  std::vector<std::int32_t> attributes;  // attributes[a] for CUdevice_attribute a
  std::int32_t least_priority = 0, greatest_priority = 0;
  std::uint64_t session = 0;
};

inline std::vector<std::uint8_t> encode_description(const DeviceDescription& d) {
  Writer w;
  w.str(d.name);
  for (auto b : d.uuid) w.u8(b);
  w.u64(d.total_memory);
  w.i32(d.driver_version);
  w.u32(static_cast<std::uint32_t>(d.attributes.size()));
  for (auto a : d.attributes) w.i32(a);
  w.i32(d.least_priority);
  w.i32(d.greatest_priority);
  w.u64(d.session);
  return std::move(w.bytes());
}

inline DeviceDescription decode_description(std::span<const std::uint8_t> bytes) {
  Reader r(bytes);
  DeviceDescription d;
  d.name = r.str("name", 256);
  for (auto& b : d.uuid) b = r.u8("uuid");
  d.total_memory = r.u64("total_memory");
  d.driver_version = r.i32("driver_version");
  const std::uint32_t n = r.u32("attributes");
  if (n > 4096) throw CallError("description lists " + std::to_string(n) + " attributes");
  for (std::uint32_t i = 0; i < n; ++i) d.attributes.push_back(r.i32("attribute"));
  d.least_priority = r.i32("least_priority");
  d.greatest_priority = r.i32("greatest_priority");
  d.session = r.u64("session");
  if (!r.done()) throw CallError("trailing bytes after the device description");
  return d;
}

inline BatchPlace parse_batch_place(std::optional<std::string_view> seq,
                                    std::optional<std::string_view> chained) {
  BatchPlace place;
  if (seq) {
    std::uint64_t value = 0;
    const char* end = seq->data() + seq->size();
    const auto [stop, ec] = std::from_chars(seq->data(), end, value);
    if (ec != std::errc{} || stop != end || value == 0)
      place.error =
          "parameter 'seq' must be a number from 1, not '" + std::string(seq->substr(0, 32)) + "'";
    else
      place.seq = value;
  }
  if (chained) {
    if (*chained != "0" && *chained != "1")
      place.error = "parameter 'chained' must be 0 or 1";
    else
      place.chained = *chained == "1";
    if (place.chained && !seq && place.error.empty())
      place.error = "parameter 'chained' needs 'seq'";
  }
  if (!place.error.empty()) place = BatchPlace{0, false, place.error};
  return place;
}

inline bool lists_feature(std::string_view list, std::string_view feature) {
  while (true) {
    const auto comma = list.find(',');
    if (list.substr(0, comma) == feature) return true;
    if (comma == std::string_view::npos) return false;
    list.remove_prefix(comma + 1);
  }
}

}  // namespace vgpu::cuda_calls
