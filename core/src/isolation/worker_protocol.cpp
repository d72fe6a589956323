#include "worker_protocol.hpp"

#include <cstring>

namespace vgpu::core::isolation {
namespace {

class Writer {
 public:
  Writer& u8(std::uint8_t v) { return raw(&v, 1); }
  Writer& u32(std::uint32_t v) { return raw(&v, 4); }
  Writer& u64(std::uint64_t v) { return raw(&v, 8); }
  Writer& i64(std::int64_t v) { return raw(&v, 8); }
  Writer& f64(double v) { return raw(&v, 8); }
  Writer& str(std::string_view s) {
    u64(s.size());
    return raw(s.data(), s.size());
  }
  Writer& bytes(const sdk::Buffer& b) {
    u64(b.size());
    return raw(b.data(), b.size());
  }
  std::string take() { return std::move(out_); }

 private:
  Writer& raw(const void* p, std::size_t n) {
    out_.append(static_cast<const char*>(p), n);
    return *this;
  }
  std::string out_;
};

// Both ends are the same build on the same host, so native byte order is fine; every read is
// bounds-checked so a truncated message is an error, not a crash.
class Reader {
 public:
  explicit Reader(const std::string& in) : in_(in) {}
  std::uint8_t u8() { return get<std::uint8_t>(); }
  std::uint32_t u32() { return get<std::uint32_t>(); }
  std::uint64_t u64() { return get<std::uint64_t>(); }
  std::int64_t i64() { return get<std::int64_t>(); }
  double f64() { return get<double>(); }
  std::string str() {
    const auto n = length();
    std::string s = in_.substr(at_, n);
    at_ += n;
    return s;
  }
  sdk::Buffer bytes() {
    const auto n = length();
    sdk::Buffer b(reinterpret_cast<const std::uint8_t*>(in_.data() + at_),
                  reinterpret_cast<const std::uint8_t*>(in_.data() + at_ + n));
    at_ += n;
    return b;
  }
  std::size_t count(std::size_t max) {
    const auto n = u64();
    if (n > max) throw ProtocolError("worker message: a count of " + std::to_string(n));
    return n;
  }

 private:
  template <typename T>
  T get() {
    need(sizeof(T));
    T v;
    std::memcpy(&v, in_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::size_t length() {
    const auto n = u64();
    need(n);
    return n;
  }
  void need(std::uint64_t n) const {
    if (n > in_.size() - at_) throw ProtocolError("worker message is truncated");
  }
  const std::string& in_;
  std::size_t at_ = 0;
};

std::int64_t ticks(sdk::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
// steady_clock is CLOCK_MONOTONIC: one clock for every process on the host.
sdk::Clock::time_point from_ticks(std::int64_t ns) {
  return sdk::Clock::time_point(
      std::chrono::duration_cast<sdk::Clock::duration>(std::chrono::nanoseconds(ns)));
}

}  // namespace

std::string encode(const WorkerSetup& s) {
  return Writer()
      .str(s.config_text)
      .str(s.config_source)
      .str(s.base_dir.string())
      .u32(s.executor_index)
      .u32(static_cast<std::uint32_t>(s.device))
      .take();
}

WorkerSetup decode_setup(const std::string& payload) {
  Reader r(payload);
  WorkerSetup s;
  s.config_text = r.str();
  s.config_source = r.str();
  s.base_dir = r.str();
  s.executor_index = r.u32();
  s.device = static_cast<std::int32_t>(r.u32());
  return s;
}

std::string encode(const sdk::ExecutorInfo& info) {
  Writer w;
  w.str(info.name).u32(info.slots).str(info.device).u64(info.ops.size());
  for (const auto& op : info.ops) w.str(op);
  for (auto m : info.max_in_flight) w.u32(m);
  return w.take();
}

sdk::ExecutorInfo decode_info(const std::string& payload) {
  Reader r(payload);
  sdk::ExecutorInfo info;
  info.name = r.str();
  info.slots = r.u32();
  info.device = r.str();
  const auto ops = r.count(4096);
  for (std::size_t i = 0; i < ops; ++i) info.ops.push_back(r.str());
  for (auto& m : info.max_in_flight) m = r.u32();
  return info;
}

std::string encode(const std::vector<sdk::Reading>& readings) {
  Writer w;
  w.u64(readings.size());
  for (const auto& r : readings) {
    w.str(r.name).str(r.help).f64(r.value).u64(r.labels.size());
    for (const auto& [key, value] : r.labels) w.str(key).str(value);
  }
  return w.take();
}

std::vector<sdk::Reading> decode_readings(const std::string& payload) {
  Reader r(payload);
  std::vector<sdk::Reading> out(r.count(65536));
  for (auto& reading : out) {
    reading.name = r.str();
    reading.help = r.str();
    reading.value = r.f64();
    reading.labels.resize(r.count(64));
    for (auto& [key, value] : reading.labels) {
      key = r.str();
      value = r.str();
    }
  }
  return out;
}

std::string encode(const sdk::Job& job) {
  Writer w;
  w.u64(job.id).u64(job.client_tag);
  w.u32(job.tenant.vm_id).str(job.tenant.pool).i64(job.tenant.priority);
  w.f64(job.tenant.weight).f64(job.tenant.pool_weight).u64(job.tenant.memory_quota_bytes);
  w.str(job.op).u64(job.params.size());
  for (const auto& p : job.params) w.str(p.key).str(p.value);
  w.u64(job.inputs.size());
  for (const auto& b : job.inputs) w.bytes(b);
  w.u8(job.deadline ? 1 : 0).i64(job.deadline ? ticks(*job.deadline) : 0);
  w.i64(ticks(job.enqueued_at));
  return w.take();
}

sdk::JobPtr decode_job(const std::string& payload) {
  Reader r(payload);
  auto job = std::make_shared<sdk::Job>();
  job->id = r.u64();
  job->client_tag = r.u64();
  job->tenant.vm_id = r.u32();
  job->tenant.pool = r.str();
  job->tenant.priority = static_cast<int>(r.i64());
  job->tenant.weight = r.f64();
  job->tenant.pool_weight = r.f64();
  job->tenant.memory_quota_bytes = r.u64();
  job->op = r.str();
  const auto params = r.count(1 << 16);
  for (std::size_t i = 0; i < params; ++i) {
    auto key = r.str();
    job->params.push_back({std::move(key), r.str()});
  }
  const auto inputs = r.count(1 << 16);
  for (std::size_t i = 0; i < inputs; ++i) job->inputs.push_back(r.bytes());
  const bool has_deadline = r.u8() != 0;
  const auto deadline = r.i64();
  if (has_deadline) job->deadline = from_ticks(deadline);
  job->enqueued_at = from_ticks(r.i64());
  return job;
}

std::string encode(sdk::JobId id, const sdk::JobResult& result) {
  Writer w;
  w.u64(id).u32(static_cast<std::uint32_t>(result.status)).str(result.message);
  w.u64(result.outputs.size());
  for (const auto& b : result.outputs) w.bytes(b);
  w.i64(result.usage.wall.count()).i64(result.usage.device.count());
  return w.take();
}

std::pair<sdk::JobId, sdk::JobResult> decode_result(const std::string& payload) {
  Reader r(payload);
  const auto id = r.u64();
  sdk::JobResult result;
  result.status = static_cast<sdk::Status>(r.u32());
  result.message = r.str();
  const auto outputs = r.count(1 << 16);
  for (std::size_t i = 0; i < outputs; ++i) result.outputs.push_back(r.bytes());
  result.usage.wall = std::chrono::nanoseconds(r.i64());
  result.usage.device = std::chrono::nanoseconds(r.i64());
  return {id, std::move(result)};
}

}  // namespace vgpu::core::isolation
