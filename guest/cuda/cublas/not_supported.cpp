#include "not_supported.hpp"

#include <cstdio>
#include <mutex>
#include <set>
#include <string>

namespace vgpu::guest::cublas {

int not_supported(const char* function) {
  static std::mutex mutex;
  static std::set<std::string> said;
  {
    std::lock_guard lock(mutex);
    if (said.insert(function).second)
      std::fprintf(stderr, "vgpu-cublas: %s is not run on the host (CUBLAS_STATUS_NOT_SUPPORTED)\n",
                   function);
  }
  return 15;  // CUBLAS_STATUS_NOT_SUPPORTED
}

}  // namespace vgpu::guest::cublas
