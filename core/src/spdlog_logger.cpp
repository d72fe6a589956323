#include "spdlog_logger.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdio>
#include <ctime>
#include <vector>

namespace vgpu::core {
namespace {

// The component and fields of the line being logged. spdlog has no structured fields; the
// "vgpu" logger is synchronous, so its sink runs on the logging thread, inside log_event(),
// and reads them from here.
struct PendingFields {
  std::string_view component;
  std::span<const LogField> fields;
};
thread_local const PendingFields* pending = nullptr;

// Writes each line as one JSON object: {"ts", "level", "msg", "component", fields...}.
class JsonLinesSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto ts = std::chrono::system_clock::to_time_t(msg.time);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()) % 1000;
    std::tm utc{};
    gmtime_r(&ts, &utc);
    char when[80];  // room for any int in each field, as the compiler counts it
    std::snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<int>(ms.count()));
    nlohmann::json line{{"ts", when},
                        {"level", spdlog::level::to_string_view(msg.level).data()},
                        {"msg", std::string(msg.payload.data(), msg.payload.size())}};
    if (pending) {
      if (!pending->component.empty()) line["component"] = std::string(pending->component);
      for (const auto& f : pending->fields) line[std::string(f.key)] = f.value;
    }
    // Replace invalid UTF-8 (a guest's bytes in a message) instead of throwing.
    std::string out = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

LogFormat current_format = LogFormat::text;

}  // namespace

void configure_logging(const std::string& level, LogFormat format) {
  auto logger = spdlog::get("vgpu");
  if (!logger || format != current_format) {
    if (logger) spdlog::drop("vgpu");
    if (format == LogFormat::json) {
      logger = std::make_shared<spdlog::logger>("vgpu", std::make_shared<JsonLinesSink>());
    } else {
      logger = std::make_shared<spdlog::logger>(
          "vgpu", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
      logger->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %v");
    }
    spdlog::register_logger(logger);
    spdlog::set_default_logger(logger);
    current_format = format;
  }
  logger->set_level(spdlog::level::from_str(level));
  logger->flush_on(spdlog::level::info);
}

void log_event(spdlog::level::level_enum level, std::string_view component,
               std::string_view message, std::span<const LogField> fields) {
  auto logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  if (current_format == LogFormat::json) {
    const PendingFields here{component, fields};
    pending = &here;
    logger->log(level, "{}", message);
    pending = nullptr;
    return;
  }
  std::string line;
  if (!component.empty()) line += "[" + std::string(component) + "] ";
  line += message;
  for (const auto& f : fields) line += " " + std::string(f.key) + "=" + f.value;
  logger->log(level, "{}", line);
}

void SpdLogger::log(sdk::LogLevel level, std::string_view message) {
  static constexpr spdlog::level::level_enum map[] = {spdlog::level::trace, spdlog::level::debug,
                                                      spdlog::level::info, spdlog::level::warn,
                                                      spdlog::level::err};
  log_event(map[static_cast<int>(level)], component_, message, {});
}

void MetricsRegistry::add(std::string_view name, double value) {
  std::lock_guard lock(mutex_);
  auto it = values_.find(name);
  if (it == values_.end())
    values_.emplace(std::string(name), value);
  else
    it->second += value;
}

std::map<std::string, double, std::less<>> MetricsRegistry::values() const {
  std::lock_guard lock(mutex_);
  return values_;
}

nlohmann::json MetricsRegistry::to_json() const {
  std::lock_guard lock(mutex_);
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [k, v] : values_) out[k] = v;
  return out;
}

}  // namespace vgpu::core
