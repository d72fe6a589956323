// The SDK's Logger and Metrics, backed by spdlog and a plain map, and the daemon's log setup.
#pragma once

#include <spdlog/spdlog.h>

#include <initializer_list>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>

#include "log_format.hpp"
#include "vgpu/sdk/context.hpp"

namespace vgpu::core {

// Sets up the process-wide "vgpu" logger on stderr. `level`: trace..error, off.
void configure_logging(const std::string& level, LogFormat format = LogFormat::text);

struct LogField {
  std::string_view key;
  std::string value;
};

// One line with named fields: appended as " key=value" in text, members of the object in json.
// `component` names the part of the daemon ("" for the core itself).
void log_event(spdlog::level::level_enum level, std::string_view component,
               std::string_view message, std::span<const LogField> fields);
inline void log_event(spdlog::level::level_enum level, std::string_view component,
                      std::string_view message, std::initializer_list<LogField> fields) {
  log_event(level, component, message, std::span<const LogField>(fields.begin(), fields.size()));
}

class SpdLogger final : public sdk::Logger {
 public:
  // `component`: e.g. "policy 'strict_priority'"; empty for the core.
  explicit SpdLogger(std::string component) : component_(std::move(component)) {}
  void log(sdk::LogLevel level, std::string_view message) override;

 private:
  std::string component_;
};

class MetricsRegistry final : public sdk::Metrics {
 public:
  void add(std::string_view name, double value) override;
  nlohmann::json to_json() const;
  std::map<std::string, double, std::less<>> values() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, double, std::less<>> values_;
};

}  // namespace vgpu::core
