// A plugin's YAML entry checked against its declared schema: every refusal names the key and
// its line, and the values the plugin reads are the operator's or the declared defaults.
#include "plugin_host/yaml_settings.hpp"

#include <gtest/gtest.h>

using vgpu::core::YamlSettings;
using vgpu::sdk::ConfigError;
using vgpu::sdk::SettingSpec;
using vgpu::sdk::SettingType;

namespace {

constexpr SettingSpec kSpecs[] = {
    {"workers", SettingType::integer, 1, 64, "", "threads", nullptr},
    {"slots", SettingType::integer, 1, 8, "4", "slots", nullptr},
    {"fast", SettingType::boolean, 0, 0, "false", "go fast", nullptr},
    {"detect", SettingType::text, 0, 0, "auto", "how", "auto|inotify|poll"},
    {"root", SettingType::text, 0, 0, "", "where", nullptr},
    {"pool_sms", SettingType::integer_map, 0, 132, "", "per pool", nullptr},
};
const auto kSchema = vgpu::sdk::schema_of(kSpecs);

ConfigError refusal(const std::string& yaml) {
  try {
    YamlSettings s(YAML::Load(yaml), kSchema, "executor 'x'");
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "accepted: " << yaml;
  return ConfigError("");
}

}  // namespace

TEST(YamlSettings, ValuesThenDefaults) {
  YamlSettings s(YAML::Load("plugin: x\nworkers: 3\nfast: true\npool_sms: {A: 60, B: 12}\n"),
                 kSchema, "executor 'x'");
  EXPECT_EQ(s.integer("workers"), 3);
  EXPECT_EQ(s.integer("slots"), 4);
  EXPECT_TRUE(s.boolean("fast"));
  EXPECT_EQ(s.text("detect"), "auto");
  EXPECT_TRUE(s.has("workers"));
  EXPECT_FALSE(s.has("root"));
  EXPECT_EQ(s.text("root"), "");
  EXPECT_EQ(s.integer_map("pool_sms"), (std::map<std::string, std::int64_t>{{"A", 60}, {"B", 12}}));
}

TEST(YamlSettings, UnknownKeyNamesKeyPositionAndWhatIsKnown) {
  auto e = refusal("plugin: x\nworkers: 3\nworkrs: 4\n");
  EXPECT_NE(std::string(e.what()).find("unknown setting 'workrs' (executor 'x' takes workers, "
                                       "slots, fast, detect, root, pool_sms)"),
            std::string::npos)
      << e.what();
  EXPECT_EQ(e.line(), 3);
  EXPECT_EQ(e.column(), 1);
}

TEST(YamlSettings, WrongTypeRangeAndChoice) {
  auto e = refusal("workers: many\n");
  EXPECT_NE(std::string(e.what()).find("'workers' must be a whole number, not 'many'"),
            std::string::npos)
      << e.what();
  EXPECT_EQ(e.line(), 1);
  EXPECT_EQ(e.column(), 10);
  EXPECT_NE(std::string(refusal("slots: 9\n").what()).find("between 1 and 8"), std::string::npos);
  EXPECT_NE(std::string(refusal("fast: maybe\n").what()).find("true or false"), std::string::npos);
  EXPECT_NE(std::string(refusal("detect: fanotify\n").what())
                .find("one of auto|inotify|poll, not 'fanotify'"),
            std::string::npos);
  EXPECT_NE(std::string(refusal("pool_sms: {A: 200}\n").what()).find("between 0 and 132"),
            std::string::npos);
  EXPECT_NE(std::string(refusal("pool_sms: 5\n").what()).find("a mapping"), std::string::npos);
  EXPECT_NE(std::string(refusal("workers: [1, 2]\n").what()).find("whole number"),
            std::string::npos);
  EXPECT_NE(std::string(refusal("- 1\n").what()).find("must be a mapping"), std::string::npos);
}

TEST(YamlSettings, RejectPlacesThePluginsOwnRuleAtTheKey) {
  YamlSettings s(YAML::Load("slots: 2\nroot: relative/path\n"), kSchema, "transport 'file'");
  try {
    s.reject("root", "'root' must be absolute");
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.line(), 2);
    EXPECT_STREQ(e.what(), "'root' must be absolute");
  }
}

TEST(YamlSettings, ReadingAnUndeclaredOrMistypedSettingIsAPluginBug) {
  YamlSettings s(YAML::Load("{}"), kSchema, "executor 'x'");
  EXPECT_THROW(s.integer("nope"), std::logic_error);
  EXPECT_THROW(s.boolean("slots"), std::logic_error);
}

TEST(YamlSettings, SchemaProblemsAreFoundAtLoad) {
  constexpr SettingSpec twice[] = {{"a", SettingType::integer, 0, 1, "0", "a", nullptr},
                                   {"a", SettingType::integer, 0, 1, "0", "a", nullptr}};
  EXPECT_NE(YamlSettings::schema_problem(vgpu::sdk::schema_of(twice)).find("declared twice"),
            std::string::npos);
  constexpr SettingSpec core_key[] = {{"plugin", SettingType::text, 0, 0, "", "p", nullptr}};
  EXPECT_NE(YamlSettings::schema_problem(vgpu::sdk::schema_of(core_key)).find("core's own key"),
            std::string::npos);
  constexpr SettingSpec bad_choice[] = {{"m", SettingType::text, 0, 0, "x", "m", "a|b"}};
  EXPECT_NE(YamlSettings::schema_problem(vgpu::sdk::schema_of(bad_choice)).find("choices"),
            std::string::npos);
  EXPECT_EQ(YamlSettings::schema_problem(kSchema), "");
}
