// Checks a plugin's YAML entry against the schema the plugin declares, then serves the values
// through sdk::Settings. Every refusal is an sdk::ConfigError at the offending key's line.
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

#include "vgpu/sdk/plugin.hpp"

namespace vgpu::core {

class YamlSettings final : public sdk::Settings {
 public:
  // `owner` names the plugin in messages ("policy 'strict_priority'"); `core_keys` are the
  // core's keys in the same entry ("plugin"), not the plugin's to check. Throws ConfigError for
  // an undeclared key, a value of the wrong type, out of range or not among the choices.
  YamlSettings(const YAML::Node& node, sdk::SettingsSchema schema, std::string owner,
               std::set<std::string> core_keys = {"plugin"});

  bool has(std::string_view name) const override;
  bool boolean(std::string_view name) const override;
  std::int64_t integer(std::string_view name) const override;
  std::string text(std::string_view name) const override;
  std::map<std::string, std::int64_t> integer_map(std::string_view name) const override;
  sdk::ConfigError error_at(std::string_view name, const std::string& why) const override;

  // The schema a plugin declares is itself checked when the plugin loads: a bad one (an unknown
  // type, a default outside its range) is the plugin's bug, reported against its file.
  static std::string schema_problem(sdk::SettingsSchema schema);

 private:
  const sdk::SettingSpec& spec(std::string_view name, sdk::SettingType type) const;
  // The operator's value, else the declared default parsed as a YAML scalar; null when neither.
  YAML::Node value_or_default(const sdk::SettingSpec& spec) const;
  void check(const sdk::SettingSpec& spec, const YAML::Node& value) const;

  YAML::Node node_;
  sdk::SettingsSchema schema_;
  std::string owner_;
};

}  // namespace vgpu::core
