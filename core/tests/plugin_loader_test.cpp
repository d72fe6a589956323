#include "plugin_host/plugin_loader.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <set>

#include "vgpu/testkit/test_host.hpp"

using namespace vgpu::core;
using vgpu::sdk::PluginKind;

namespace {

std::filesystem::path build_dir() {
  return VGPU_BUILD_DIR;
}

std::string error_loading(const std::filesystem::path& file, PluginKind kind,
                          const std::string& name) {
  try {
    PluginLoader::load_file(file, kind, name);
  } catch (const PluginLoadError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(PluginLoader, LoadsARealPluginAndItsFactoryWorks) {
  PluginLoader loader({build_dir() / "plugins"});
  auto lib = loader.load(PluginKind::policy, "strict_priority");
  EXPECT_EQ(lib->name(), "strict_priority");
  EXPECT_EQ(lib->built_for(), "SDK " + std::to_string(vgpu::sdk::kSdkMajor) + "." +
                                  std::to_string(vgpu::sdk::kSdkMinor));
  ASSERT_EQ(lib->schema().count, 1u);
  EXPECT_STREQ(lib->schema().specs[0].name, "aging_ms");
  vgpu::testkit::TestContext context;
  PluginInstance<vgpu::sdk::Policy> policy;
  policy.object = lib->make_policy(YAML::Load("plugin: strict_priority\naging_ms: 20\n"), context);
  policy.library = lib;
  EXPECT_EQ(policy->pending(), 0u);
}

TEST(PluginLoader, SettingsAreCheckedAgainstTheSchemaBeforeTheFactoryRuns) {
  PluginLoader loader({build_dir() / "plugins"});
  auto lib = loader.load(PluginKind::policy, "strict_priority");
  vgpu::testkit::TestContext context;
  try {
    lib->make_policy(YAML::Load("plugin: strict_priority\naging_ms: -5\n"), context);
    FAIL();
  } catch (const vgpu::sdk::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'aging_ms' must be between 0 and 3600000"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(e.line(), 2);
  }
  try {
    lib->make_policy(YAML::Load("plugin: strict_priority\nageing_ms: 5\n"), context);
    FAIL();
  } catch (const vgpu::sdk::ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown setting 'ageing_ms' (policy 'strict_priority' "
                                         "takes aging_ms)"),
              std::string::npos)
        << e.what();
  }
}

TEST(PluginLoader, FindsEveryPluginForTheReference) {
  PluginLoader loader({build_dir() / "plugins"});
  std::set<std::string> names;
  for (const auto& lib : loader.load_all())
    names.insert(std::string(vgpu::sdk::to_string(lib->kind())) + "/" + lib->name());
  for (const char* expected :
       {"policy/fifo", "policy/strict_priority", "policy/round_robin", "policy/weighted",
        "executor/cpu", "transport/tcp", "transport/vsock", "transport/file"})
    EXPECT_TRUE(names.count(expected)) << expected;
}

TEST(PluginLoader, MissingFileNamesTheFileAndFolders) {
  PluginLoader loader({"/nowhere"});
  try {
    loader.load(PluginKind::policy, "nosuch");
    FAIL();
  } catch (const PluginLoadError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("libvgpu-policy-nosuch.so"), std::string::npos) << m;
    EXPECT_NE(m.find("/nowhere"), std::string::npos) << m;
  }
}

TEST(PluginLoader, OtherMajorVersionNamesBoth) {
  auto m = error_loading(build_dir() / "test-plugins/libvgpu-test-bad-major.so", PluginKind::policy,
                         "badmajor");
  const auto here = std::to_string(vgpu::sdk::kSdkMajor);
  const auto there = std::to_string(vgpu::sdk::kSdkMajor + 1);
  EXPECT_NE(m.find("libvgpu-test-bad-major.so"), std::string::npos) << m;
  EXPECT_NE(m.find("built for SDK " + there + ".0"), std::string::npos) << m;
  EXPECT_NE(m.find("this mediator runs SDK " + here + "."), std::string::npos) << m;
}

TEST(PluginLoader, NewerMinorIsRefusedOlderLoads) {
  auto m = error_loading(build_dir() / "test-plugins/libvgpu-test-bad-minor.so", PluginKind::policy,
                         "badminor");
  EXPECT_NE(m.find("newer than this mediator's SDK"), std::string::npos) << m;
  EXPECT_NE(m.find("update the mediator"), std::string::npos) << m;
}

TEST(PluginLoader, AbiBeforeTheLastLegacyOneIsRefused) {
  auto m = error_loading(build_dir() / "test-plugins/libvgpu-test-bad-oldabi.so",
                         PluginKind::policy, "oldabi");
  EXPECT_NE(m.find("built for plugin ABI 4"), std::string::npos) << m;
  EXPECT_NE(m.find("rebuild the plugin"), std::string::npos) << m;
}

TEST(PluginLoader, TransportsOfAbi5AreRefusedWithTheReason) {
  auto m = error_loading(build_dir() / "test-plugins/libvgpu-test-bad-abi5transport.so",
                         PluginKind::transport, "oldtcp");
  EXPECT_NE(m.find("a transport built for plugin ABI 5"), std::string::npos) << m;
  EXPECT_NE(m.find("PeerIdentity"), std::string::npos) << m;
}

TEST(PluginLoader, ABadSchemaIsThePluginsBugReportedAtLoad) {
  auto m = error_loading(build_dir() / "test-plugins/libvgpu-test-bad-schema.so",
                         PluginKind::policy, "badschema");
  EXPECT_NE(m.find("setting 'depth': default '99' is outside 1 and 10"), std::string::npos) << m;
}

TEST(PluginLoader, WrongKind) {
  auto m = error_loading(build_dir() / "test-plugins/libvgpu-test-bad-kind.so", PluginKind::policy,
                         "badkind");
  EXPECT_NE(m.find("is a transport plugin, but a policy is configured"), std::string::npos) << m;
}

TEST(PluginLoader, MissingSymbol) {
  auto m = error_loading(build_dir() / "test-plugins/libvgpu-test-bad-nosymbol.so",
                         PluginKind::policy, "x");
  EXPECT_NE(m.find("not a vgpu plugin"), std::string::npos) << m;
  EXPECT_NE(m.find("vgpu_plugin_v1"), std::string::npos) << m;
}

TEST(PluginLoader, NameMismatchAndUnloadableFile) {
  auto m =
      error_loading(build_dir() / "plugins/libvgpu-policy-fifo.so", PluginKind::policy, "other");
  EXPECT_NE(m.find("calls itself 'fifo', expected 'other'"), std::string::npos) << m;
  auto text = std::filesystem::temp_directory_path() / "vgpu-not-elf.so";
  std::ofstream(text) << "not an ELF file";
  m = error_loading(text, PluginKind::policy, "x");
  EXPECT_NE(m.find("cannot load"), std::string::npos) << m;
  std::filesystem::remove(text);
}
