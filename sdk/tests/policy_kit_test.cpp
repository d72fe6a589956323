// Every built-in policy against the kit, each loaded from its plugin file.
#include "vgpu/testkit/policy_kit.hpp"

using vgpu::testkit::PolicyKit;  // GoogleTest wants the suite's name unqualified

namespace {
std::string plugin(const std::string& name) {
  return std::string(VGPU_PLUGIN_DIR) + "/libvgpu-policy-" + name + ".so";
}
}  // namespace

INSTANTIATE_TEST_SUITE_P(
    BuiltIn, PolicyKit,
    ::testing::Values(vgpu::testkit::plugin_policy(plugin("fifo")),
                      vgpu::testkit::plugin_policy(plugin("strict_priority")),
                      vgpu::testkit::plugin_policy(plugin("strict_priority"), {{"aging_ms", "50"}}),
                      vgpu::testkit::plugin_policy(plugin("round_robin")),
                      vgpu::testkit::plugin_policy(plugin("round_robin"), {{"aging_ms", "50"}}),
                      vgpu::testkit::plugin_policy(plugin("weighted"))),
    [](const auto& info) { return info.param.name + std::to_string(info.index); });
