#include "remote_link.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <utility>

#include "device.hpp"
#include "vgpu/protocol/ring.hpp"

namespace vgpu::guest::cuda {

namespace cc = cuda_calls;

namespace {
std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}
}  // namespace

void log_error(const std::string& line) {
  std::fprintf(stderr, "vgpu-cuda: %s\n", line.c_str());
}

void log_debug(const std::string& line) {
  static const bool on = std::getenv("VGPU_CUDA_LOG") != nullptr;
  if (on) log_error(line);
}

bool tracing_calls() {
  static const bool on = env_or("VGPU_CUDA_LOG", "") == "2";
  return on;
}

void trace_call(const char* function) {
  if (tracing_calls()) std::fprintf(stderr, "vgpu-cuda: call %s\n", function);
}

CUresult RemoteLink::open(std::string& error) {
  try {
    std::uint32_t vm_id = 0;
    std::string token;
    // On the mediator's host (a test, a benchmark) the client maps the region's file by the name
    // the mediator gives; in a VM it is the vgpu-stub's shared-memory BAR.
    std::string shared_memory_path;
    if (const char* id = std::getenv("VGPU_VM_ID"); id && *id) {
      vm_id = static_cast<std::uint32_t>(std::stoul(id));
      token = env_or("VGPU_TOKEN", "");
    } else {
      const auto identity = read_device_identity(env_or("VGPU_SYSFS_ROOT", "/sys"));
      vm_id = identity.vm_id;
      token = identity.token;
      shared_memory_path = identity.shared_memory_path;
    }
    ConnectOptions options;
    options.client_name = "libvgpu-cuda";
    options.shared_memory = env_or("VGPU_CUDA_SHARED_MEMORY", "1") != "0";
    options.rings = options.shared_memory;
    const std::string transport = env_or("VGPU_TRANSPORT", "tcp");
    if (transport == "vsock")
      client_.emplace(
          Client::connect_vsock(static_cast<std::uint32_t>(std::stoul(env_or("VGPU_CID", "2"))),
                                static_cast<std::uint32_t>(std::stoul(env_or("VGPU_PORT", "7800"))),
                                vm_id, token, options));
    else if (transport == "tcp")
      client_.emplace(
          Client::connect(env_or("VGPU_HOST", "127.0.0.1"),
                          static_cast<std::uint16_t>(std::stoul(env_or("VGPU_PORT", "7800"))),
                          vm_id, token, options));
    else {
      error = "VGPU_TRANSPORT must be tcp or vsock for CUDA, not '" + transport + "'";
      return CUDA_ERROR_NO_DEVICE;
    }
    // A program waiting for the GPU spins before it sleeps, as the CUDA runtime does by default:
    // a quick answer then costs no wake-up. VGPU_CUDA_SPIN_US (default 1000) bounds the spin.
    client_->set_spin_wait(
        std::chrono::microseconds(std::stoul(env_or("VGPU_CUDA_SPIN_US", "1000"))));
    // Room for the frame's metadata: a batch and its answer each fit one frame.
    const std::size_t frame = client_->identity().max_frame;
    max_batch_ = frame > (2u << 20) ? frame - (1u << 20) : frame / 2;
    max_copy_ = std::min<std::size_t>(max_batch_ / 2, cc::kMaxCopyBytes);
    // Two batches in flight need a host that runs a session's batches in order: asked for here,
    // and used when the answer says the host honours it (VGPU_CUDA_PIPELINE=0: never asked).
    const bool pipeline = env_or("VGPU_CUDA_PIPELINE", "1") != "0";
    std::vector<protocol::Param> open_params;
    if (pipeline)
      open_params.push_back({std::string(cc::kFeaturesParam), std::string(cc::kFeatureOrdered)});
    auto result = client_->run(std::string(cc::kOpOpen), open_params);
    if (result.status != protocol::Status::ok) {
      error = "the mediator refused a CUDA session: " + result.message;
      client_.reset();
      return CUDA_ERROR_NO_DEVICE;
    }
    if (result.outputs.empty() || result.outputs.size() > 2)
      throw cc::CallError("cuda.open answered without a device");
    device_ = cc::decode_description(result.outputs[0]);
    if (result.outputs.size() == 2) {
      const std::string honoured(result.outputs[1].begin(), result.outputs[1].end());
      ordered_ = pipeline && cc::lists_feature(honoured, cc::kFeatureOrdered);
    }
    session_ = std::to_string(device_.session);
    if (env_or("VGPU_CUDA_TIMING", "0") != "0") timing_.emplace();
    if (client_->identity().shared_bytes) take_staging(shared_memory_path, vm_id);
    return CUDA_SUCCESS;
  } catch (const std::exception& e) {
    error = std::string("cannot reach the mediator: ") + e.what();
    client_.reset();
    return CUDA_ERROR_NO_DEVICE;
  }
}

void RemoteLink::take_staging(const std::string& shared_memory_path, std::uint32_t vm_id) {
  try {
    region_ = client_->map_shared_memory(shared_memory_path);
  } catch (const std::exception& e) {
    log_debug(std::string("copies go through the socket: ") + e.what());
    return;
  }
  // The whole region as the mediator sees it: the rings (this connection's or another's) lie at
  // its end and are never part of a slot.
  const std::size_t region_bytes = client_->identity().shared_bytes;
  const auto rings = wire::rings_offset_for(region_bytes);
  std::string why;
  staging_ = StagingSlot::claim(env_or("VGPU_CUDA_LOCK_DIR", "/dev/shm"), vm_id, region_bytes,
                                rings ? region_bytes - *rings : 0,
                                std::stoull(env_or("VGPU_CUDA_STAGING_MB", "32")) << 20, why);
  staging_min_ = std::stoull(env_or("VGPU_CUDA_STAGING_MIN_KB", "256")) << 10;
  // Smaller chunks overlap the program's copy into the slot with the host's better (the first
  // and last chunk are not overlapped); each costs a round trip.
  chunk_ = std::max<std::size_t>(std::stoull(env_or("VGPU_CUDA_CHUNK_KB", "8192")), 64) << 10;
  copier_ = new ParallelCopy(static_cast<unsigned>(
      std::clamp(std::stoul(env_or("VGPU_CUDA_COPY_THREADS", "2")), 1ul, 16ul)));
  if (!staging_) {
    log_debug("copies go through the socket: " + why);
    return;
  }
  if (!give_shared_memory()) {
    staging_.reset();
    return;
  }
  log_debug("copies go through shared memory slot " + std::to_string(staging_->index()) +
            (client_->uses_rings() ? ", batches through the rings" : ""));
}

bool RemoteLink::give_shared_memory() {
  const auto& l = staging_->layout();
  // A batch of one empty copy through shared memory, its answer placed in the slot: the host
  // hands the session the region on seeing the place, and the copy fails if it did not (a
  // mediator whose executor runs in a worker process, `isolation: process`, cannot).
  cc::Writer probe;
  cc::encode(probe, cc::MemcpyHtoDShared{0, l.batch_offset[0], 0, 0});
  try {
    std::memcpy(region_.data() + l.batch_offset[0], probe.bytes().data(), probe.bytes().size());
    auto result = client_->run_shared(
        std::string(cc::kOpCalls), {{std::string(cc::kSessionParam), session_}},
        {{l.batch_offset[0], probe.bytes().size()}}, {{l.answer_offset[0], l.answer_bytes}});
    if (result.status != protocol::Status::ok || result.shared_outputs.size() != 1) {
      log_debug("copies go through the socket: the mediator took no shared memory: " +
                result.message);
      return false;
    }
    const auto answer = cc::decode_answer(result.shared_outputs[0]);
    if (answer.result == CUDA_SUCCESS) return true;
    log_debug("copies go through the socket: " + answer.message);
  } catch (const std::exception& e) {
    log_debug(std::string("copies go through the socket: ") + e.what());
  }
  return false;
}

std::span<std::uint8_t> RemoteLink::staging_half(int half) const {
  const auto& l = staging_->layout();
  return region_.subspan(l.half_offset[half], std::min(l.half_bytes, chunk_));
}

CUresult RemoteLink::record(const cc::Call& call) {
  if (!client_) return CUDA_ERROR_NOT_INITIALIZED;
  cc::encode(pending_, call);
  ++pending_calls_;
  // Keep a batch within one frame: send it once it reaches the limit (a copy is at most half a
  // batch, so the batch that ends with one still fits).
  if (pending_.bytes().size() >= max_batch_ / 2 || pending_calls_ >= cc::kMaxCallsPerBatch / 2)
    return flush();
  if (ordered_) send_early();
  return CUDA_SUCCESS;
}

void RemoteLink::send_early() {
  // The GPU starts on what the program has recorded as soon as nothing of it is on its way: the
  // batch in flight is collected if its answer is here (an error in it is kept for the program's
  // next waiting call, and then nothing more is sent before that call).
  if (in_flight_.size() == 1 && !deferred_) {
    try {
      if (client_->result_arrived(in_flight_.front().tag)) note(collect_front(nullptr));
    } catch (const std::exception& e) {
      log_error(std::string("lost the mediator: ") + e.what());
      note(CUDA_ERROR_UNKNOWN);
    }
  }
  if (in_flight_.empty() && !deferred_) note(send_pending());
}

CUresult RemoteLink::record_copy_back(const cc::MemcpyDtoH& call, void* destination) {
  if (!client_) return CUDA_ERROR_NOT_INITIALIZED;
  // What one batch may ask back is bounded (kMaxAnswerBytes): send what is recorded first.
  if (pending_answer_bytes_ + call.bytes > cc::kMaxAnswerBytes)
    if (auto r = flush()) return r;
  destinations_.push_back({destination, call.bytes});
  pending_answer_bytes_ += call.bytes;
  return record(call);
}

CUresult RemoteLink::call(const cc::Call& call, std::vector<std::uint8_t>* output) {
  if (!client_) return CUDA_ERROR_NOT_INITIALIZED;
  cc::encode(pending_, call);
  ++pending_calls_;
  std::vector<std::vector<std::uint8_t>> outputs;
  const CUresult r = send_batch(&outputs);
  if (r == CUDA_SUCCESS && output && !outputs.empty()) *output = std::move(outputs.back());
  return r;
}

CUresult RemoteLink::flush() {
  if (!client_) return CUDA_ERROR_NOT_INITIALIZED;
  if (pending_calls_ == 0) return wait_all(nullptr);
  return send_batch(nullptr);
}

CUresult RemoteLink::send(const cc::Call& call) {
  if (!client_) return CUDA_ERROR_NOT_INITIALIZED;
  if (auto r = wait_all(nullptr)) return r;
  cc::encode(pending_, call);
  ++pending_calls_;
  return send_pending();
}

CUresult RemoteLink::send_batch(std::vector<std::vector<std::uint8_t>>* outputs) {
  // A second batch may go while the first is on its way when the host keeps their order.
  const std::size_t most_in_flight = ordered_ ? kStagingMessagePairs : 1;
  while (in_flight_.size() >= most_in_flight && !deferred_) note(collect_front(nullptr));
  if (!deferred_) note(send_pending());
  return wait_all(outputs);
}

void RemoteLink::note(CUresult r) {
  if (r != CUDA_SUCCESS && deferred_ == CUDA_SUCCESS) deferred_ = r;
}

CUresult RemoteLink::wait_all(std::vector<std::vector<std::uint8_t>>* outputs) {
  while (!in_flight_.empty()) note(collect_front(in_flight_.size() == 1 ? outputs : nullptr));
  const CUresult r = std::exchange(deferred_, CUDA_SUCCESS);
  if (r != CUDA_SUCCESS) {
    // As when a batch stops at its failing call: what the program recorded after it never runs.
    pending_.bytes().clear();
    pending_calls_ = 0;
    destinations_.clear();
    pending_answer_bytes_ = 0;
  }
  return r;
}

CUresult RemoteLink::send_pending() {
  InFlight sent;
  std::vector<std::uint8_t> batch = std::move(pending_.bytes());
  pending_.bytes().clear();
  sent.calls = pending_calls_;
  pending_calls_ = 0;
  sent.destinations = std::move(destinations_);
  destinations_.clear();
  const std::uint64_t answer_bytes = pending_answer_bytes_;
  pending_answer_bytes_ = 0;
  // The slot's message places: the one the batch in flight does not use.
  sent.place = !in_flight_.empty() && in_flight_.front().placed ? 1 - in_flight_.front().place : 0;
  try {
    std::vector<protocol::Param> params{{std::string(cc::kSessionParam), session_}};
    if (ordered_) {
      params.push_back({std::string(cc::kSeqParam), std::to_string(next_seq_++)});
      if (!in_flight_.empty()) params.push_back({std::string(cc::kChainedParam), "1"});
    }
    // In the slot, the batch and its answer leave the socket, and their frames can take the
    // rings. Whatever may be answered must fit: the copies back, and room for one answering
    // call's output and an error message (each well under the reserve).
    constexpr std::size_t kAnswerReserve = 512 << 10;
    const auto* l = staging_ ? &staging_->layout() : nullptr;
    sent.placed =
        l && batch.size() <= l->batch_bytes && answer_bytes <= l->answer_bytes - kAnswerReserve;
    if (sent.placed) {
      std::memcpy(region_.data() + l->batch_offset[sent.place], batch.data(), batch.size());
      sent.tag = client_->submit_shared(std::string(cc::kOpCalls), params,
                                        {{l->batch_offset[sent.place], batch.size()}},
                                        {{l->answer_offset[sent.place], l->answer_bytes}});
    } else {
      sent.tag = client_->submit(std::string(cc::kOpCalls), params, {std::move(batch)});
    }
  } catch (const std::exception& e) {
    log_error(std::string("lost the mediator: ") + e.what());
    return CUDA_ERROR_UNKNOWN;
  }
  sent.sent_at = std::chrono::steady_clock::now();
  in_flight_.push_back(std::move(sent));
  return CUDA_SUCCESS;
}

CUresult RemoteLink::collect_front(std::vector<std::vector<std::uint8_t>>* outputs) {
  const InFlight sent = std::move(in_flight_.front());
  in_flight_.pop_front();
  // A batch chained to one that failed is answered "not run": the failure is already known.
  const bool quiet = deferred_ != CUDA_SUCCESS;
  try {
    auto result = client_->wait_for(sent.tag);
    if (timing_)
      timing_->add(std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::steady_clock::now() - sent.sent_at)
                       .count(),
                   result.queued_ns, result.wall_ns, result.device_ns);
    if (result.status != protocol::Status::ok) {
      if (!quiet)
        log_error("batch of " + std::to_string(sent.calls) + " calls refused: " + result.message);
      return result.status == protocol::Status::quota_exceeded ? CUDA_ERROR_OUT_OF_MEMORY
                                                               : CUDA_ERROR_UNKNOWN;
    }
    const std::size_t n = sent.placed ? result.shared_outputs.size() : result.outputs.size();
    if (n != 1) throw cc::CallError("cuda.calls answered without a result");
    auto answer = cc::decode_answer(sent.placed ? result.shared_outputs[0]
                                                : std::span<const std::uint8_t>(result.outputs[0]));
    // The recorded copies back answer first, in order; those that ran have their bytes here.
    const auto& destinations = sent.destinations;
    const std::size_t copied = std::min(destinations.size(), answer.outputs.size());
    for (std::size_t i = 0; i < copied; ++i) {
      if (answer.outputs[i].size() != destinations[i].bytes)
        throw cc::CallError("a copy back came with the wrong size");
      std::memcpy(destinations[i].data, answer.outputs[i].data(), destinations[i].bytes);
    }
    if (answer.result != CUDA_SUCCESS) {
      if (!quiet) log_error(answer.message);
      return static_cast<CUresult>(answer.result);
    }
    if (outputs)
      *outputs = std::vector<std::vector<std::uint8_t>>(
          std::make_move_iterator(answer.outputs.begin() + copied),
          std::make_move_iterator(answer.outputs.end()));
    return CUDA_SUCCESS;
  } catch (const std::exception& e) {
    log_error(std::string("lost the mediator: ") + e.what());
    return CUDA_ERROR_UNKNOWN;
  }
}

void RemoteLink::close() {
  if (!client_) return;
  if (timing_) log_error(timing_->summary());
  try {
    flush();
    client_->run(std::string(cc::kOpClose), {{std::string(cc::kSessionParam), session_}});
  } catch (const std::exception&) {
    // The mediator ends idle sessions by itself.
  }
  client_.reset();
}

}  // namespace vgpu::guest::cuda
