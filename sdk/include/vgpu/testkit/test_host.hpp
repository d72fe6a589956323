// What a plugin's tests need in place of the core: a quiet logger, a metrics sink, a context
// with a clock the test may drive, and settings given as text (key -> value as an operator
// would write it) and checked against the plugin's schema as the core checks them.
#pragma once

#include <charconv>
#include <map>
#include <stdexcept>
#include <string>

#include "vgpu/sdk/plugin.hpp"

namespace vgpu::testkit {

struct QuietLog final : sdk::Logger {
  void log(sdk::LogLevel, std::string_view) override {}
};

struct NoMetrics final : sdk::Metrics {
  void add(std::string_view, double) override {}
};

class TestContext final : public sdk::PluginContext {
 public:
  explicit TestContext(std::function<sdk::Clock::time_point()> clock = {})
      : clock_(clock ? std::move(clock) : [] { return sdk::Clock::now(); }) {}
  sdk::Logger& logger() const override { return log_; }
  sdk::Metrics& metrics() const override { return metrics_; }
  std::function<sdk::Clock::time_point()> clock() const override { return clock_; }
  std::string instance_name() const override { return "test"; }

 private:
  mutable QuietLog log_;
  mutable NoMetrics metrics_;
  std::function<sdk::Clock::time_point()> clock_;
};

// Settings as text. Refuses (sdk::ConfigError) undeclared keys and values that do not parse as
// the declared type or lie outside its range, like the core; integer_map settings are not
// supported here.
class TextSettings final : public sdk::Settings {
 public:
  TextSettings(sdk::SettingsSchema schema, std::map<std::string, std::string> values)
      : schema_(schema), values_(std::move(values)) {
    for (const auto& [key, value] : values_) {
      const auto& s = spec(key);
      if (s.type == sdk::SettingType::integer) {
        const auto n = parse(key, value);
        if (n < s.min || n > s.max) throw sdk::ConfigError("'" + key + "' is out of range");
      }
    }
  }
  bool has(std::string_view name) const override { return values_.count(std::string(name)); }
  bool boolean(std::string_view name) const override { return raw(name) == "true"; }
  std::int64_t integer(std::string_view name) const override {
    const auto text = raw(name);
    return text.empty() ? 0 : parse(std::string(name), text);
  }
  std::string text(std::string_view name) const override { return raw(name); }
  std::map<std::string, std::int64_t> integer_map(std::string_view name) const override {
    if (has(name)) throw std::logic_error("TextSettings: no integer_map values");
    return {};
  }
  sdk::ConfigError error_at(std::string_view, const std::string& why) const override {
    return sdk::ConfigError(why);
  }

 private:
  const sdk::SettingSpec& spec(std::string_view name) const {
    for (std::size_t i = 0; i < schema_.count; ++i)
      if (name == schema_.specs[i].name) return schema_.specs[i];
    throw sdk::ConfigError("unknown setting '" + std::string(name) + "'");
  }
  std::string raw(std::string_view name) const {
    const auto& s = spec(name);
    auto it = values_.find(std::string(name));
    return it != values_.end() ? it->second : (s.default_value ? s.default_value : "");
  }
  static std::int64_t parse(const std::string& key, const std::string& text) {
    std::int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size())
      throw sdk::ConfigError("'" + key + "' must be a whole number, not '" + text + "'");
    return n;
  }

  sdk::SettingsSchema schema_;
  std::map<std::string, std::string> values_;
};

}  // namespace vgpu::testkit
