#include "yaml_settings.hpp"

#include <charconv>
#include <stdexcept>

#include "../yaml_reader.hpp"

namespace vgpu::core {

namespace {

const char* type_name(sdk::SettingType type) {
  switch (type) {
    case sdk::SettingType::boolean:
      return "true or false";
    case sdk::SettingType::integer:
      return "a whole number";
    case sdk::SettingType::text:
      return "text";
    case sdk::SettingType::integer_map:
      return "a mapping of names to whole numbers";
  }
  return "an unknown type";
}

bool parse_integer(const std::string& text, std::int64_t& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

bool parse_boolean(const std::string& text, bool& out) {
  YAML::Node n(text);
  try {
    out = n.as<bool>();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

bool among(const char* choices, const std::string& value) {
  if (!choices) return true;
  std::string_view rest(choices);
  while (!rest.empty()) {
    const auto bar = rest.find('|');
    if (rest.substr(0, bar) == value) return true;
    if (bar == std::string_view::npos) break;
    rest.remove_prefix(bar + 1);
  }
  return false;
}

std::string range_text(const sdk::SettingSpec& s) {
  return std::to_string(s.min) + " and " + std::to_string(s.max);
}

}  // namespace

YamlSettings::YamlSettings(const YAML::Node& node, sdk::SettingsSchema schema, std::string owner,
                           std::set<std::string> core_keys)
    : node_(node), schema_(schema), owner_(std::move(owner)) {
  if (node_ && !node_.IsNull() && !node_.IsMap())
    throw config_error_at(node_.Mark(), "plugin settings must be a mapping");
  if (!node_ || !node_.IsMap()) return;
  for (const auto& kv : node_) {
    const auto key = kv.first.as<std::string>();
    if (core_keys.count(key)) continue;
    const sdk::SettingSpec* found = nullptr;
    for (std::size_t i = 0; i < schema_.count; ++i)
      if (key == schema_.specs[i].name) found = &schema_.specs[i];
    if (!found) {
      std::string known;
      for (std::size_t i = 0; i < schema_.count; ++i)
        known += std::string(known.empty() ? "" : ", ") + schema_.specs[i].name;
      throw config_error_at(kv.first.Mark(),
                            "unknown setting '" + key + "' (" + owner_ + " takes " +
                                (known.empty() ? std::string("no settings") : known) + ")");
    }
    check(*found, kv.second);
  }
}

void YamlSettings::check(const sdk::SettingSpec& s, const YAML::Node& value) const {
  const std::string key = s.name;
  auto bad = [&](const YAML::Node& at, const std::string& why) {
    throw config_error_at(at.Mark(), "'" + key + "' " + why);
  };
  if (s.type == sdk::SettingType::integer_map) {
    if (!value.IsMap()) bad(value, "must be " + std::string(type_name(s.type)));
    for (const auto& kv : value) {
      std::int64_t n = 0;
      if (!kv.second.IsScalar() || !parse_integer(kv.second.Scalar(), n))
        bad(kv.second, "must map names to whole numbers");
      if (n < s.min || n > s.max) bad(kv.second, "values must be between " + range_text(s));
    }
    return;
  }
  if (!value.IsScalar()) bad(value, "must be " + std::string(type_name(s.type)));
  const std::string& text = value.Scalar();
  switch (s.type) {
    case sdk::SettingType::boolean: {
      bool b = false;
      if (!parse_boolean(text, b)) bad(value, "must be true or false, not '" + text + "'");
      break;
    }
    case sdk::SettingType::integer: {
      std::int64_t n = 0;
      if (!parse_integer(text, n)) bad(value, "must be a whole number, not '" + text + "'");
      if (n < s.min || n > s.max) bad(value, "must be between " + range_text(s));
      break;
    }
    case sdk::SettingType::text:
      if (!among(s.choices, text))
        bad(value, "must be one of " + std::string(s.choices) + ", not '" + text + "'");
      break;
    default:
      break;
  }
}

std::string YamlSettings::schema_problem(sdk::SettingsSchema schema) {
  if (schema.count > 0 && !schema.specs) return "the settings schema has entries but no array";
  std::set<std::string> names;
  for (std::size_t i = 0; i < schema.count; ++i) {
    const auto& s = schema.specs[i];
    if (!s.name || !*s.name) return "setting " + std::to_string(i) + " has no name";
    const std::string name = s.name;
    if (!names.insert(name).second) return "setting '" + name + "' is declared twice";
    if (name == "plugin" || name == "isolation")
      return "setting '" + name + "' is the core's own key";
    if (!s.description || !*s.description) return "setting '" + name + "' has no description";
    const std::string def = s.default_value ? s.default_value : "";
    switch (s.type) {
      case sdk::SettingType::boolean: {
        bool b = false;
        if (!def.empty() && !parse_boolean(def, b))
          return "setting '" + name + "': default '" + def + "' is not true or false";
        break;
      }
      case sdk::SettingType::integer: {
        std::int64_t n = 0;
        if (s.min > s.max) return "setting '" + name + "': min is above max";
        if (!def.empty() && (!parse_integer(def, n) || n < s.min || n > s.max))
          return "setting '" + name + "': default '" + def + "' is outside " + range_text(s);
        break;
      }
      case sdk::SettingType::text:
        if (!def.empty() && !among(s.choices, def))
          return "setting '" + name + "': default '" + def + "' is not among its choices";
        break;
      case sdk::SettingType::integer_map:
        if (!def.empty()) return "setting '" + name + "': a mapping cannot have a default";
        break;
      default:
        return "setting '" + name + "' has an unknown type " +
               std::to_string(static_cast<std::uint32_t>(s.type));
    }
  }
  return {};
}

const sdk::SettingSpec& YamlSettings::spec(std::string_view name, sdk::SettingType type) const {
  for (std::size_t i = 0; i < schema_.count; ++i) {
    const auto& s = schema_.specs[i];
    if (name != s.name) continue;
    if (s.type != type)
      throw std::logic_error(owner_ + " reads setting '" + std::string(name) + "' as " +
                             type_name(type) + " but declares it " + type_name(s.type));
    return s;
  }
  throw std::logic_error(owner_ + " reads setting '" + std::string(name) +
                         "', which it does not declare");
}

YAML::Node YamlSettings::value_or_default(const sdk::SettingSpec& s) const {
  if (node_ && node_.IsMap() && node_[s.name]) return node_[s.name];
  if (s.default_value && *s.default_value) return YAML::Node(std::string(s.default_value));
  return YAML::Node();
}

bool YamlSettings::has(std::string_view name) const {
  return node_ && node_.IsMap() && node_[std::string(name)];
}

bool YamlSettings::boolean(std::string_view name) const {
  auto v = value_or_default(spec(name, sdk::SettingType::boolean));
  bool out = false;
  if (v.IsScalar()) parse_boolean(v.Scalar(), out);
  return out;
}

std::int64_t YamlSettings::integer(std::string_view name) const {
  auto v = value_or_default(spec(name, sdk::SettingType::integer));
  std::int64_t out = 0;
  if (v.IsScalar()) parse_integer(v.Scalar(), out);
  return out;
}

std::string YamlSettings::text(std::string_view name) const {
  auto v = value_or_default(spec(name, sdk::SettingType::text));
  return v.IsScalar() ? v.Scalar() : std::string();
}

std::map<std::string, std::int64_t> YamlSettings::integer_map(std::string_view name) const {
  auto v = value_or_default(spec(name, sdk::SettingType::integer_map));
  std::map<std::string, std::int64_t> out;
  if (!v.IsMap()) return out;
  for (const auto& kv : v) {
    std::int64_t n = 0;
    parse_integer(kv.second.Scalar(), n);
    out[kv.first.as<std::string>()] = n;
  }
  return out;
}

sdk::ConfigError YamlSettings::error_at(std::string_view name, const std::string& why) const {
  const std::string key(name);
  const YAML::Mark mark = node_ && node_.IsMap() && node_[key]
                              ? node_[key].Mark()
                              : (node_ ? node_.Mark() : YAML::Mark::null_mark());
  return config_error_at(mark, why);
}

}  // namespace vgpu::core
