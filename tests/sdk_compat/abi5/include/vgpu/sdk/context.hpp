// What the core hands every plugin: a logger, metrics and a clock, without the plugin depending
// on the core's logging or metrics libraries.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

enum class LogLevel { trace, debug, info, warn, error };

class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message) = 0;
  void debug(std::string_view m) { log(LogLevel::debug, m); }
  void info(std::string_view m) { log(LogLevel::info, m); }
  void warn(std::string_view m) { log(LogLevel::warn, m); }
  void error(std::string_view m) { log(LogLevel::error, m); }
};

class Metrics {
 public:
  virtual ~Metrics() = default;
  // Adds `value` to the counter `name` (created on first use).
  virtual void add(std::string_view name, double value) = 0;
};

struct PluginContext {
  Logger& logger;
  Metrics& metrics;
  std::function<Clock::time_point()> now = [] { return Clock::now(); };
  std::string instance_name;  // e.g. "policy strict_priority"
};

}  // namespace vgpu::sdk
