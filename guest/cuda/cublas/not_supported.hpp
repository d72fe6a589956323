// The answer of every cuBLAS function libvgpu-cublas does not run on the host: its name said
// once on stderr, then CUBLAS_STATUS_NOT_SUPPORTED, as the guest driver does for driver
// functions it lacks.
#pragma once

namespace vgpu::guest::cublas {
int not_supported(const char* function);
}  // namespace vgpu::guest::cublas

// A weak definition: an implemented function of the same name replaces it at link time.
#define VGPU_CUBLAS_STUB(name)                        \
  extern "C" __attribute__((weak)) int name() {       \
    return vgpu::guest::cublas::not_supported(#name); \
  }
