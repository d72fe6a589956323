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

// For a library's calls whose status is 0 on success (cuBLAS): stop with the status's number.
#define CHECK_STATUS(call)                                         \
  do {                                                             \
    const int check_status_ = static_cast<int>(call);              \
    if (check_status_ != 0) {                                      \
      std::printf("%s failed: status %d\n", #call, check_status_); \
      std::exit(1);                                                \
    }                                                              \
  } while (0)
