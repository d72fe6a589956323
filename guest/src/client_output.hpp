// How vgpu-client prints identities and results for a person (or --json for scripts).
#pragma once

#include <string>

#include "client.hpp"
#include "device.hpp"

namespace vgpu::guest {

std::string describe_identity(const DeviceIdentity& id, bool json);
std::string describe_result(const std::string& op, const RunResult& r, const wire::HelloOk& who,
                            bool json);

}  // namespace vgpu::guest
