// A plugin's settings: the schema it declares, and the typed view of the operator's values the
// core hands its factory. The core checks every value against the schema (type, range, choices,
// unknown keys) before the factory runs, and the same schema prints the plugin's part of the
// configuration reference (`vgpu-mediator --describe-plugins`), so the documentation and the
// checks cannot disagree. The SDK knows no configuration language: whatever the core parses
// (YAML today) reaches the plugin through this view only.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vgpu::sdk {

// A bad setting. `line` and `column` are 1-based; 0 means unknown.
class ConfigError : public std::runtime_error {
 public:
  explicit ConfigError(const std::string& message, int line = 0, int column = 0)
      : std::runtime_error(message), line_(line), column_(column) {}
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_ = 0;
  int column_ = 0;
};

enum class SettingType : std::uint32_t {
  boolean = 1,      // true / false
  integer = 2,      // a whole number in [min, max]
  text = 3,         // a string; with `choices`, one of them
  integer_map = 4,  // a mapping of names to whole numbers in [min, max], e.g. pool: sms
};

// One setting, declared in a static array: plain data, so its layout is part of the frozen
// plugin boundary. `default_value` is written as the operator would write it ("" = no default:
// the setting is optional and absent unless given). `choices`, for text, lists the accepted
// values separated by '|' (nullptr = any text).
struct SettingSpec {
  const char* name;
  SettingType type;
  std::int64_t min;
  std::int64_t max;
  const char* default_value;
  const char* description;  // one line, for the configuration reference
  const char* choices;
};

// The values of one plugin instance, already checked against its schema. Implemented by the
// core; valid only during the factory call. Every getter takes a declared name and returns the
// operator's value or else the declared default; asking for an undeclared name, or with the
// wrong type, is a plugin bug and throws std::logic_error.
class Settings {
 public:
  virtual ~Settings() = default;
  // Whether the operator wrote this setting (for optional settings without a default).
  virtual bool has(std::string_view name) const = 0;
  virtual bool boolean(std::string_view name) const = 0;
  virtual std::int64_t integer(std::string_view name) const = 0;
  virtual std::string text(std::string_view name) const = 0;
  virtual std::map<std::string, std::int64_t> integer_map(std::string_view name) const = 0;
  // The error for a value the schema cannot express a rule for (an absolute path, two settings
  // that exclude each other), placed at the setting's line in the operator's file.
  virtual ConfigError error_at(std::string_view name, const std::string& why) const = 0;
  // Throws error_at(name, why).
  [[noreturn]] void reject(std::string_view name, const std::string& why) const {
    throw error_at(name, why);
  }
  // New getters are added here, after the ones above, so compiled plugins keep their slots.
};

// Convenience for the common case of an unsigned setting.
inline unsigned to_unsigned(std::int64_t value) {
  return static_cast<unsigned>(value);
}

}  // namespace vgpu::sdk
