// What the core hands every plugin: a logger, metrics and a clock, without the plugin depending
// on the core's logging or metrics libraries.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

enum class LogLevel { trace, debug, info, warn, error };

// Implemented by the core. log() may be called from any thread, at any time while the plugin's
// object lives; the core rate-limits nothing, so a plugin that may log per request should use
// sdk::LogLimiter.
class Logger {
 public:
  virtual ~Logger() = default;
  virtual void log(LogLevel level, std::string_view message) = 0;
  void debug(std::string_view m) { log(LogLevel::debug, m); }
  void info(std::string_view m) { log(LogLevel::info, m); }
  void warn(std::string_view m) { log(LogLevel::warn, m); }
  void error(std::string_view m) { log(LogLevel::error, m); }
};

// Implemented by the core; thread-safe.
class Metrics {
 public:
  virtual ~Metrics() = default;
  // Adds `value` to the counter `name` (created on first use).
  virtual void add(std::string_view name, double value) = 0;
};

// Implemented by the core, one per plugin instance. It outlives the object the factory makes
// (the core destroys the object first), so a plugin may keep references to what it returns.
// New services are added as virtual methods after the ones below.
class PluginContext {
 public:
  virtual ~PluginContext() = default;
  virtual Logger& logger() const = 0;
  virtual Metrics& metrics() const = 0;
  // The time source for scheduling decisions: a copyable function, so a policy keeps it and
  // tests drive it.
  virtual std::function<Clock::time_point()> clock() const = 0;
  // How the core names this instance in logs, e.g. "policy strict_priority".
  virtual std::string instance_name() const = 0;
};

}  // namespace vgpu::sdk
