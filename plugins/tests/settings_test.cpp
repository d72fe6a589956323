#include "vgpu/sdk/settings.hpp"

#include <gtest/gtest.h>

using vgpu::sdk::ConfigError;
using vgpu::sdk::SettingsReader;

TEST(Settings, ReadsValuesAndDefaults) {
  auto node = YAML::Load("plugin: cpu\nworkers: 3\n");
  SettingsReader r(node);
  EXPECT_EQ(r.get<int>("workers", 1), 3);
  EXPECT_EQ(r.get<int>("absent", 7), 7);
  EXPECT_NO_THROW(r.reject_unknown_keys());
}

TEST(Settings, UnknownKeyNamesKeyAndPosition) {
  auto node = YAML::Load("plugin: cpu\nworkers: 3\nworkrs: 4\n");
  SettingsReader r(node);
  r.get<int>("workers", 1);
  try {
    r.reject_unknown_keys();
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'workrs'"), std::string::npos);
    EXPECT_EQ(e.line(), 3);
    EXPECT_EQ(e.column(), 1);
  }
}

TEST(Settings, BadValueAndRange) {
  auto node = YAML::Load("workers: many\nslots: 0\n");
  SettingsReader r(node);
  try {
    r.get<int>("workers", 1);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'workers'"), std::string::npos);
    EXPECT_EQ(e.line(), 1);
    EXPECT_EQ(e.column(), 10);
  }
  EXPECT_THROW(r.get_in_range<int>("slots", 1, 1, 64), ConfigError);
}
