// Plugins built against the SDK of plugin ABI 5 (before SDK 1.0) still load and work.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include "guest_helpers.hpp"
#include "layout_probe.hpp"
#include "mediator_process.hpp"
#include "plugin_host/host_context.hpp"
#include "plugin_host/plugin_loader.hpp"
#include "vgpu/sdk/ops.hpp"
#include "vgpu/testkit/policy_kit.hpp"

using namespace vgpu;
using vgpu::testkit::PolicyKit;

namespace {

const std::filesystem::path kAbi5Dir = VGPU_ABI5_PLUGIN_DIR;

std::shared_ptr<core::LoadedLibrary> load_abi5(sdk::PluginKind kind, const std::string& name) {
  return core::PluginLoader::load_file(kAbi5Dir / core::PluginLoader::file_name(kind, name), kind,
                                       name);
}

// The ABI 5 strict_priority, loaded and made exactly as the mediator does it.
testkit::PolicyUnderTest abi5_policy(const std::string& settings) {
  auto lib = load_abi5(sdk::PluginKind::policy, "strict_priority");
  return {"abi5_strict_priority", [lib, settings] {
            static testkit::TestContext context;
            return lib->make_policy(YAML::Load(settings), context);
          }};
}

}  // namespace

INSTANTIATE_TEST_SUITE_P(Abi5, PolicyKit,
                         ::testing::Values(abi5_policy("{}"), abi5_policy("{aging_ms: 50}")),
                         [](const auto& info) { return "abi5_" + std::to_string(info.index); });

TEST(Abi5Plugins, LoadAsLegacyAndSayWhatTheyWereBuiltFor) {
  for (auto [kind, name] : {std::pair{sdk::PluginKind::policy, "strict_priority"},
                            std::pair{sdk::PluginKind::executor, "cpu"}}) {
    auto lib = load_abi5(kind, name);
    EXPECT_EQ(lib->built_for(), "plugin ABI 5");
    EXPECT_EQ(lib->schema().count, 0u);  // it checks its own YAML, as it always did
  }
}

TEST(Abi5Plugins, TheirSettingsChecksStillWork) {
  auto lib = load_abi5(sdk::PluginKind::policy, "strict_priority");
  testkit::TestContext context;
  try {
    lib->make_policy(YAML::Load("{agin_ms: 5}"), context);
    FAIL();
  } catch (const sdk::ConfigError& e) {
    // Thrown by the old plugin with its own ConfigError type: the same class name, so the
    // mediator's handler catches it and places it in the file.
    EXPECT_NE(std::string(e.what()).find("'agin_ms'"), std::string::npos) << e.what();
  }
}

TEST(Abi5Plugins, StructLayoutsAreTheOnesTheyWereCompiledWith) {
  void* handle =
      ::dlopen((kAbi5Dir / "libvgpu-policy-strict_priority.so").c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << ::dlerror();
  auto* theirs = static_cast<const std::size_t*>(::dlsym(handle, "vgpu_abi5_layout"));
  ASSERT_NE(theirs, nullptr);
  const std::size_t ours[kAbi5LayoutEntries] = VGPU_ABI5_LAYOUT;
  for (std::size_t i = 0; i < kAbi5LayoutEntries; ++i)
    EXPECT_EQ(theirs[i], ours[i]) << "layout entry " << i << " (layout_probe.hpp) moved";
}

TEST(Abi5Plugins, ServeGuestsInARealMediator) {
  vgpu::testing::MediatorProcess m({{"a", "A", "high"}, {"b", "A", "low"}},
                                   "plugin_dirs: [" + kAbi5Dir.string() + "]\n", "strict_priority",
                                   1, "", "  - plugin: cpu\n    workers: 2\n");
  EXPECT_NE(m.log().find("policy 'strict_priority' 1.0.0, built for plugin ABI 5"),
            std::string::npos)
      << m.log();
  EXPECT_NE(m.log().find("executor 'cpu' 1.0.0, built for plugin ABI 5"), std::string::npos)
      << m.log();
  for (const char* name : {"a", "b"}) {
    auto c = vgpu::testing::connect_as(m, name);
    auto r = c.run("vector_add", {{"n", "1000"}, {"seed", "3"}});
    ASSERT_EQ(r.status, sdk::Status::ok) << r.message;
    const auto sum = sdk::ops::to_floats(r.outputs.at(0));
    ASSERT_EQ(sum.size(), 1000u);
    for (std::size_t i = 0; i < sum.size(); ++i)
      ASSERT_EQ(sum[i], sdk::ops::generated_value(3, 0, i) + sdk::ops::generated_value(3, 1, i));
  }
}
