#include "spdlog_logger.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace vgpu::core {

void configure_logging(const std::string& level) {
  auto logger = spdlog::get("vgpu");
  if (!logger) {
    logger = spdlog::stderr_color_mt("vgpu");
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    spdlog::set_default_logger(logger);
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
}

void SpdLogger::log(sdk::LogLevel level, std::string_view message) {
  static constexpr spdlog::level::level_enum map[] = {spdlog::level::trace, spdlog::level::debug,
                                                      spdlog::level::info, spdlog::level::warn,
                                                      spdlog::level::err};
  spdlog::log(map[static_cast<int>(level)], "{}{}", prefix_, message);
}

void MetricsRegistry::add(std::string_view name, double value) {
  std::lock_guard lock(mutex_);
  auto it = values_.find(name);
  if (it == values_.end())
    values_.emplace(std::string(name), value);
  else
    it->second += value;
}

nlohmann::json MetricsRegistry::to_json() const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : values_) out[k] = v;
  return out;
}

}  // namespace vgpu::core
