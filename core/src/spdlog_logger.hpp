// The SDK's Logger and Metrics, backed by spdlog and a plain map.
#pragma once

#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <nlohmann/json.hpp>

#include "vgpu/sdk/context.hpp"

namespace vgpu::core {

// Sets up the process-wide "vgpu" logger on stderr. `level`: trace..error, off.
void configure_logging(const std::string& level);

class SpdLogger final : public sdk::Logger {
 public:
  explicit SpdLogger(std::string prefix) : prefix_(std::move(prefix)) {}
  void log(sdk::LogLevel level, std::string_view message) override;

 private:
  std::string prefix_;
};

class MetricsRegistry final : public sdk::Metrics {
 public:
  void add(std::string_view name, double value) override;
  nlohmann::json to_json() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, double, std::less<>> values_;
};

}  // namespace vgpu::core
