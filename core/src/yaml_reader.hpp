// Reading a YAML mapping with errors that name the key and its position: the mediator's own
// configuration and the simulator's workloads. (Plugins never see YAML: vgpu/sdk/settings.hpp.)
#pragma once

#include <yaml-cpp/yaml.h>

#include <set>
#include <stdexcept>
#include <string>

#include "vgpu/sdk/settings.hpp"

namespace vgpu::core {

// A ConfigError placed at a YAML node's position.
inline sdk::ConfigError config_error_at(const YAML::Mark& mark, const std::string& message) {
  return sdk::ConfigError(message, mark.line >= 0 ? mark.line + 1 : 0,
                          mark.column >= 0 ? mark.column + 1 : 0);
}

class YamlReader {
 public:
  // `ignored` keys belong to the core (e.g. "plugin") and are not the plugin's to check.
  explicit YamlReader(const YAML::Node& node, std::set<std::string> ignored = {"plugin"})
      : node_(node), seen_(std::move(ignored)) {
    if (node_ && !node_.IsNull() && !node_.IsMap())
      throw config_error_at(node_.Mark(), "plugin settings must be a mapping");
  }

  template <typename T>
  T get(const std::string& key, const T& fallback) {
    seen_.insert(key);
    if (!node_ || !node_.IsMap() || !node_[key]) return fallback;
    return convert<T>(node_[key], key);
  }

  template <typename T>
  T get_in_range(const std::string& key, const T& fallback, const T& lo, const T& hi) {
    T value = get<T>(key, fallback);
    if (value < lo || value > hi) {
      throw config_error_at(
          node_[key].Mark(),
          "'" + key + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi));
    }
    return value;
  }

  // Throws for the first key nobody asked for: a typo must not pass silently.
  void reject_unknown_keys() const {
    if (!node_ || !node_.IsMap()) return;
    for (const auto& kv : node_) {
      auto key = kv.first.as<std::string>();
      if (!seen_.count(key))
        throw config_error_at(kv.first.Mark(), "unknown setting '" + key + "'");
    }
  }

  const YAML::Node& node() const { return node_; }

 private:
  template <typename T>
  static T convert(const YAML::Node& value, const std::string& key) {
    try {
      return value.as<T>();
    } catch (const YAML::Exception&) {
      throw config_error_at(value.Mark(), "bad value for '" + key + "'");
    }
  }

  YAML::Node node_;
  std::set<std::string> seen_;
};

}  // namespace vgpu::core
