// The log line for every refused request and refused HELLO, with the VM and the reason as
// fields (log.format json makes them JSON members). A guest can cause refusals at will, so each
// kind is rate-limited: 20 lines per 10 s, then one line saying how many were left out.
#pragma once

#include <cstdint>
#include <string>

#include "spdlog_logger.hpp"
#include "vgpu/sdk/job.hpp"
#include "vgpu/sdk/log_limiter.hpp"

namespace vgpu::core {

class RefusalLog {
 public:
  // A job refused before it ran (`pool` empty when the VM is not registered any more).
  void job_refused(std::uint32_t vm_id, const std::string& pool, sdk::Status reason,
                   const std::string& why);
  void hello_refused(const std::string& transport, const std::string& peer, const std::string& why);

 private:
  sdk::LogLimiter jobs_;
  sdk::LogLimiter hellos_;
};

}  // namespace vgpu::core
