#include "fifo_policy.hpp"

namespace vgpu::policies {

std::vector<sdk::PolicyStat> FifoPolicy::stats() const {
  return {{"pending", static_cast<double>(queue_.size())}};
}

}  // namespace vgpu::policies
