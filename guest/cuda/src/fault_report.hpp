// VGPU_CUDA_LOG=2 diagnostics: CUDA libraries that reach past the driver API into what its
// handles point at (the NVIDIA driver's own objects, which this library does not have) fault.
// With this installed a fault first says where — the address read, the library and offset that
// read it, and what this library's context handle is — then the program faults as it would have.
#pragma once

namespace vgpu::guest::cuda {

// Installs the SIGSEGV reporter if VGPU_CUDA_LOG is 2; otherwise does nothing. Driver::init
// calls it, once.
void report_faults_when_tracing();

}  // namespace vgpu::guest::cuda
