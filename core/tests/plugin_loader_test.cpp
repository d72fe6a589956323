#include "plugin_loader.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

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
  auto lib = loader.load(PluginKind::policy, "fifo");
  ASSERT_NE(lib->descriptor, nullptr);
  EXPECT_STREQ(lib->descriptor->name, "fifo");
  EXPECT_EQ(lib->descriptor->abi_version, vgpu::sdk::kAbiVersion);
  struct NullLog : vgpu::sdk::Logger {
    void log(vgpu::sdk::LogLevel, std::string_view) override {}
  } log;
  struct NullMetrics : vgpu::sdk::Metrics {
    void add(std::string_view, double) override {}
  } metrics;
  PluginInstance<vgpu::sdk::Policy> policy;
  policy.object = lib->descriptor->make_policy(
      YAML::Node(), {log, metrics, [] { return vgpu::sdk::Clock::now(); }, "test"});
  policy.library = lib;
  EXPECT_EQ(policy->pending(), 0u);
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

TEST(PluginLoader, AbiMismatchNamesBothVersions) {
  auto m = error_loading(build_dir() / "test-plugins/libvgpu-test-bad-abi.so", PluginKind::policy,
                         "badabi");
  EXPECT_NE(m.find("libvgpu-test-bad-abi.so"), std::string::npos) << m;
  EXPECT_NE(m.find("ABI " + std::to_string(vgpu::sdk::kAbiVersion + 41)), std::string::npos) << m;
  EXPECT_NE(m.find("speaks ABI " + std::to_string(vgpu::sdk::kAbiVersion)), std::string::npos) << m;
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
  EXPECT_NE(m.find("vgpu_plugin_descriptor"), std::string::npos) << m;
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
