#include "sliced_ops.cuh"

#include <algorithm>
#include <cmath>

#include "device_buffer.cuh"
#include "work_kernel.cuh"

namespace vgpu::executors::cuda {
namespace ops = sdk::ops;
namespace {

// Holds every block on its SM until the global timer has advanced `ns`. With dynamic shared
// memory of a whole SM's worth, each block has an SM to itself.
__global__ void spin_kernel(std::uint64_t ns) {
  extern __shared__ char fill[];
  (void)fill;
  std::uint64_t start, now;
  asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(start));
  do {
    asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(now));
  } while (now - start < ns);
}

bool sliced(const sdk::Job& job, const OpOptions& options) {
  return options.low_slice.count() > 0 && job.tenant.priority < 2;
}

}  // namespace

std::uint64_t work_state_bytes(const ops::WorkShape& w) {
  return w.blocks * ops::kWorkLanes * sizeof(float);
}

void launch_spin(const sdk::Job& job, const SlotResources& slot, cudaStream_t s,
                 const OpOptions& options) {
  const auto us = ops::param_u64(job, "us", 1000, ops::kMaxSpinMicros);
  // One block per SM of the partition by default: the job holds all of its SMs for its time.
  const auto blocks = ops::param_u64(job, "blocks", slot.sm_count, 1u << 20);
  // exclusive=1: each block takes a whole SM's shared memory, so no other block fits beside it.
  const bool exclusive = ops::param_u64(job, "exclusive", 0, 1) == 1;
  const int shared = exclusive ? slot.max_shared_per_block : 0;
  if (exclusive)
    check(cudaFuncSetAttribute(spin_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, shared),
          "cudaFuncSetAttribute");
  if (!blocks) return;
  const std::uint64_t piece = sliced(job, options) ? std::uint64_t(options.low_slice.count())
                                                   : std::max<std::uint64_t>(us, 1);
  for (std::uint64_t left = us; left > 0;) {
    const std::uint64_t now = std::min(left, piece);
    spin_kernel<<<unsigned(blocks), 32, shared, s>>>(now * 1000);
    left -= now;
  }
  if (us == 0) spin_kernel<<<unsigned(blocks), 32, shared, s>>>(0);
}

void launch_work(const sdk::Job& job, const ops::WorkShape& w, float* sums, cudaStream_t s,
                 const OpOptions& options) {
  if (!w.blocks) return;
  const std::uint64_t key = ops::generator_key(w.seed, 0);
  std::uint64_t per_slice = w.iters;
  if (sliced(job, options) && options.work_ns_per_iter > 0)
    per_slice = std::max<std::uint64_t>(
        1, std::uint64_t(double(options.low_slice.count()) * 1000.0 / options.work_ns_per_iter));
  if (per_slice >= w.iters) {
    work_kernel<<<unsigned(w.blocks), ops::kWorkLanes, 0, s>>>(key, w.iters, nullptr, sums,
                                                               kFirstSlice | kLastSlice);
    return;
  }
  DeviceBuffer state(work_state_bytes(w), s);
  for (std::uint64_t done = 0; done < w.iters;) {
    const std::uint64_t now = std::min(per_slice, w.iters - done);
    const unsigned which = (done == 0 ? kFirstSlice : 0) | (done + now == w.iters ? kLastSlice : 0);
    work_kernel<<<unsigned(w.blocks), ops::kWorkLanes, 0, s>>>(key, now, state.get(), sums, which);
    done += now;
  }
}

double measure_work_ns_per_iter(const SlotResources& slot, cudaStream_t s) {
  // 32 one-warp blocks per SM fill every block slot of an H100 SM (and of earlier GPUs).
  const unsigned blocks = unsigned(std::max(1, slot.sm_count)) * 32;
  constexpr std::uint64_t kIters = 20000;
  DeviceBuffer sums(blocks * sizeof(float), s);
  work_kernel<<<blocks, ops::kWorkLanes, 0, s>>>(1, 100, nullptr, sums.get(),
                                                 kFirstSlice | kLastSlice);  // warm-up
  check(cudaEventRecord(slot.start, s), "cudaEventRecord");
  work_kernel<<<blocks, ops::kWorkLanes, 0, s>>>(1, kIters, nullptr, sums.get(),
                                                 kFirstSlice | kLastSlice);
  check(cudaGetLastError(), "launching the calibration kernel");
  check(cudaEventRecord(slot.stop, s), "cudaEventRecord");
  check(cudaEventSynchronize(slot.stop), "cudaEventSynchronize");
  float ms = 0;
  check(cudaEventElapsedTime(&ms, slot.start, slot.stop), "cudaEventElapsedTime");
  return double(ms) * 1e6 / double(kIters);
}

}  // namespace vgpu::executors::cuda
