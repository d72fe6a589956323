// Rate limit for log lines a guest can cause: at most `burst` lines per `window`; the lines past
// that are counted and reported in one line when the next window opens. Any thread.
#pragma once

#include <chrono>
#include <mutex>
#include <string>

#include "vgpu/sdk/context.hpp"

namespace vgpu::sdk {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  LogLimiter(unsigned burst = 20, std::chrono::seconds window = std::chrono::seconds(10))
      : burst_(burst), window_(window) {}

  void warn(Logger& log, const std::string& line) {
    std::string suppressed;
    {
      std::lock_guard lock(mutex_);
      const auto now = Clock::now();
      if (now - window_start_ >= window_) {
        if (dropped_)
          suppressed = std::to_string(dropped_) + " similar lines suppressed in the last " +
                       std::to_string(window_.count()) + " s";
        window_start_ = now;
        lines_ = 0;
        dropped_ = 0;
      }
      if (lines_ >= burst_) {
        ++dropped_;
        return;
      }
      ++lines_;
    }
    if (!suppressed.empty()) log.warn(suppressed);
    log.warn(line);
  }

 private:
  const unsigned burst_;
  const std::chrono::seconds window_;
  std::mutex mutex_;
  Clock::time_point window_start_{};
  unsigned lines_ = 0;
  unsigned long dropped_ = 0;
};

}  // namespace vgpu::sdk
