#include "remote_link.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include "device.hpp"

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

CUresult RemoteLink::open(std::string& error) {
  try {
    std::uint32_t vm_id = 0;
    std::string token;
    if (const char* id = std::getenv("VGPU_VM_ID"); id && *id) {
      vm_id = static_cast<std::uint32_t>(std::stoul(id));
      token = env_or("VGPU_TOKEN", "");
    } else {
      const auto identity = read_device_identity(env_or("VGPU_SYSFS_ROOT", "/sys"));
      vm_id = identity.vm_id;
      token = identity.token;
    }
    const std::string transport = env_or("VGPU_TRANSPORT", "tcp");
    if (transport == "vsock")
      client_.emplace(
          Client::connect_vsock(static_cast<std::uint32_t>(std::stoul(env_or("VGPU_CID", "2"))),
                                static_cast<std::uint32_t>(std::stoul(env_or("VGPU_PORT", "7800"))),
                                vm_id, token, "libvgpu-cuda"));
    else if (transport == "tcp")
      client_.emplace(
          Client::connect(env_or("VGPU_HOST", "127.0.0.1"),
                          static_cast<std::uint16_t>(std::stoul(env_or("VGPU_PORT", "7800"))),
                          vm_id, token, "libvgpu-cuda"));
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
    auto result = client_->run(std::string(cc::kOpOpen), {});
    if (result.status != protocol::Status::ok) {
      error = "the mediator refused a CUDA session: " + result.message;
      client_.reset();
      return CUDA_ERROR_NO_DEVICE;
    }
    if (result.outputs.size() != 1) throw cc::CallError("cuda.open answered without a device");
    device_ = cc::decode_description(result.outputs[0]);
    session_ = std::to_string(device_.session);
    return CUDA_SUCCESS;
  } catch (const std::exception& e) {
    error = std::string("cannot reach the mediator: ") + e.what();
    client_.reset();
    return CUDA_ERROR_NO_DEVICE;
  }
}

CUresult RemoteLink::record(const cc::Call& call) {
  if (!client_) return CUDA_ERROR_NOT_INITIALIZED;
  cc::encode(pending_, call);
  ++pending_calls_;
  // Keep a batch within one frame: send it once it reaches the limit (a copy is at most half a
  // batch, so the batch that ends with one still fits).
  if (pending_.bytes().size() >= max_batch_ / 2 || pending_calls_ >= cc::kMaxCallsPerBatch / 2)
    return flush();
  return CUDA_SUCCESS;
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
  if (pending_calls_ == 0) return CUDA_SUCCESS;
  return send_batch(nullptr);
}

CUresult RemoteLink::send_batch(std::vector<std::vector<std::uint8_t>>* outputs) {
  std::vector<std::uint8_t> batch = std::move(pending_.bytes());
  pending_.bytes().clear();
  const std::size_t calls = pending_calls_;
  pending_calls_ = 0;
  const std::vector<Destination> destinations = std::move(destinations_);
  destinations_.clear();
  pending_answer_bytes_ = 0;
  try {
    auto result = client_->run(std::string(cc::kOpCalls),
                               {{std::string(cc::kSessionParam), session_}}, {std::move(batch)});
    if (result.status != protocol::Status::ok) {
      log_error("batch of " + std::to_string(calls) + " calls refused: " + result.message);
      return result.status == protocol::Status::quota_exceeded ? CUDA_ERROR_OUT_OF_MEMORY
                                                               : CUDA_ERROR_UNKNOWN;
    }
    if (result.outputs.size() != 1) throw cc::CallError("cuda.calls answered without a result");
    auto answer = cc::decode_answer(result.outputs[0]);
    // The recorded copies back answer first, in order; those that ran have their bytes here.
    const std::size_t copied = std::min(destinations.size(), answer.outputs.size());
    for (std::size_t i = 0; i < copied; ++i) {
      if (answer.outputs[i].size() != destinations[i].bytes)
        throw cc::CallError("a copy back came with the wrong size");
      std::memcpy(destinations[i].data, answer.outputs[i].data(), destinations[i].bytes);
    }
    if (answer.result != CUDA_SUCCESS) {
      log_error(answer.message);
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
  try {
    flush();
    client_->run(std::string(cc::kOpClose), {{std::string(cc::kSessionParam), session_}});
  } catch (const std::exception&) {
    // The mediator ends idle sessions by itself.
  }
  client_.reset();
}

}  // namespace vgpu::guest::cuda
