// What the CUDA samples' helper_cuda.h does for these programs: stop with the error's name.
#pragma once

#include <cstdio>
#include <cstdlib>

#define CHECK(call)                                                          \
  do {                                                                       \
    cudaError_t check_error_ = (call);                                       \
    if (check_error_ != cudaSuccess) {                                       \
      std::printf("%s failed: %s\n", #call, cudaGetErrorName(check_error_)); \
      std::exit(1);                                                          \
    }                                                                        \
  } while (0)
