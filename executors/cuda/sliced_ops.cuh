// The two ops that hold SMs for as long as they are asked to: `spin` (a time) and `work` (a
// number of iterations). Below high priority, with slicing on (OpOptions::low_slice), such a job
// runs as a sequence of launches no longer than the slice each. The block scheduler starts a
// higher-priority stream's blocks first whenever an SM has room, but it never preempts a running
// block: without slices a high-priority job waits for a low block to finish, as long as that
// block was asked to run; with them it waits at most one slice. (Kernel slicing as a preemption
// substitute is an old GPU-scheduling technique; docs/decisions.md says why it is used here.)
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "cuda_ops.cuh"
#include "vgpu/sdk/ops.hpp"

namespace vgpu::executors::cuda {

// Device memory a `work` job may hold besides its per-block sums: each lane's running value
// between slices. Counted whether or not the job ends up sliced, so quotas do not depend on
// timing.
std::uint64_t work_state_bytes(const sdk::ops::WorkShape& w);

void launch_spin(const sdk::Job& job, const SlotResources& slot, cudaStream_t s,
                 const OpOptions& options);

// Leaves each block's sum in `sums` (w.blocks floats of device memory).
void launch_work(const sdk::Job& job, const sdk::ops::WorkShape& w, float* sums, cudaStream_t s,
                 const OpOptions& options);

// Nanoseconds one `work` iteration takes when every block slot of the slot's SMs is busy (the
// slowest case, so slices computed from it are never longer than asked).
double measure_work_ns_per_iter(const SlotResources& slot, cudaStream_t s);

}  // namespace vgpu::executors::cuda
