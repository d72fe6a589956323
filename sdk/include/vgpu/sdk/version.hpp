// The plugin SDK's version. A plugin records the version it was built against in its descriptor
// (vgpu/sdk/plugin.hpp); the core loads it when the majors are equal and the plugin's minor is
// not newer than the core's (a newer plugin may call services this core lacks).
//
// Within a major version the boundary only grows:
//   - interfaces gain virtual methods after the existing ones, and those a plugin implements come
//     with a default body, so a compiled plugin keeps its vtable slots and skips what it predates;
//   - optional roles are separate small interfaces the core looks for (dynamic_cast) on the
//     object a plugin made, as FlowControl is for a ReplyChannel;
//   - the structs that cross the boundary (Job, Tenant, JobResult, SlotInfo, ...) keep their
//     layout; tests/sdk_compat pins it against the frozen ABI 5 headers. New facts reach
//     plugins through new methods, never through new fields.
// A change that cannot follow these rules is the next major version.
#pragma once

#include <cstdint>

namespace vgpu::sdk {

inline constexpr std::uint16_t kSdkMajor = 1;
// 1.1: the Telemetry role (telemetry.hpp); 1.2: the Placement role (placement.hpp)
inline constexpr std::uint16_t kSdkMinor = 2;

// Before 1.0 the descriptor carried a single ABI number (1 to 5), bumped at every change. Plugins
// of ABI 5 whose kind kept its layout (policies and executors) still load; see docs/plugins.md.
inline constexpr std::uint32_t kLastLegacyAbi = 5;

}  // namespace vgpu::sdk
