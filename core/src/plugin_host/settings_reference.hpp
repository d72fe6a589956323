// The configuration reference of every plugin the mediator can load, written from the schemas
// the plugins declare: `vgpu-mediator --describe-plugins` prints it, and docs/plugin-settings.md
// is that output (a test keeps the two equal), so the documentation cannot drift from the checks.
#pragma once

#include <memory>
#include <ostream>
#include <vector>

#include "plugin_loader.hpp"

namespace vgpu::core {

// Markdown: one section per plugin (transports, policies, executors, each by name), one table
// row per setting: name, type with range or choices, default, description.
void write_settings_reference(std::ostream& out,
                              std::vector<std::shared_ptr<LoadedLibrary>> plugins);

}  // namespace vgpu::core
