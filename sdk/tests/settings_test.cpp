// The SDK's settings helpers and the test kit's TextSettings (the core's own checks of YAML
// against a schema are tested in core/tests/yaml_settings_test.cpp).
#include <gtest/gtest.h>

#include "vgpu/sdk/plugin.hpp"
#include "vgpu/testkit/test_host.hpp"

using vgpu::sdk::ConfigError;
using vgpu::sdk::SettingSpec;
using vgpu::sdk::SettingType;

namespace {
constexpr SettingSpec kOwn[] = {
    {"port", SettingType::integer, 0, 65535, "7800", "the port", nullptr},
};
constexpr SettingSpec kShared[] = {
    {"threads", SettingType::integer, 1, 64, "1", "threads", nullptr},
    {"fast", SettingType::boolean, 0, 0, "false", "go fast", nullptr},
};
constexpr auto kJoined = vgpu::sdk::join_settings(kOwn, kShared);
}  // namespace

TEST(Settings, JoinKeepsOrderAndEverySpec) {
  static_assert(kJoined.size() == 3);
  const auto schema = vgpu::sdk::schema_of(kJoined);
  ASSERT_EQ(schema.count, 3u);
  EXPECT_STREQ(schema.specs[0].name, "port");
  EXPECT_STREQ(schema.specs[2].name, "fast");
}

TEST(Settings, TextSettingsGiveValuesThenDefaults) {
  vgpu::testkit::TextSettings s(vgpu::sdk::schema_of(kJoined), {{"threads", "4"}});
  EXPECT_EQ(s.integer("threads"), 4);
  EXPECT_EQ(s.integer("port"), 7800);
  EXPECT_FALSE(s.boolean("fast"));
  EXPECT_TRUE(s.has("threads"));
  EXPECT_FALSE(s.has("port"));
}

TEST(Settings, TextSettingsRefuseWhatTheCoreRefuses) {
  const auto schema = vgpu::sdk::schema_of(kJoined);
  EXPECT_THROW(vgpu::testkit::TextSettings(schema, {{"thread", "4"}}), ConfigError);
  EXPECT_THROW(vgpu::testkit::TextSettings(schema, {{"threads", "65"}}), ConfigError);
  EXPECT_THROW(vgpu::testkit::TextSettings(schema, {{"threads", "four"}}), ConfigError);
}
