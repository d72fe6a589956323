// The child side of `isolation: process`: `vgpu-mediator --executor-worker FD` builds the one
// executor the mediator names and runs the jobs it sends, until told to stop, until the mediator
// goes away, or until the executor says it cannot go on (Executor::unusable(): then it reports
// why and exits, and the mediator starts a fresh process).
#pragma once

namespace vgpu::core::isolation {

// Returns the process's exit status: 0 after a shutdown or when the executor is unavailable
// (both reported on the channel), 2 when it could not be built.
int run_executor_worker(int fd, int rings_fd = -1);

}  // namespace vgpu::core::isolation
