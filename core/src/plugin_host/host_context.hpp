// The core's sdk::PluginContext: one per plugin instance, kept alive by whoever holds the
// instance, longer than the object the plugin made.
#pragma once

#include <string>

#include "vgpu/sdk/context.hpp"

namespace vgpu::core {

class HostContext final : public sdk::PluginContext {
 public:
  // `clock`: the simulator's virtual time; the steady clock when empty.
  HostContext(sdk::Logger& logger, sdk::Metrics& metrics, std::string name,
              std::function<sdk::Clock::time_point()> clock = {})
      : logger_(logger),
        metrics_(metrics),
        name_(std::move(name)),
        clock_(clock ? std::move(clock) : [] { return sdk::Clock::now(); }) {}
  sdk::Logger& logger() const override { return logger_; }
  sdk::Metrics& metrics() const override { return metrics_; }
  std::function<sdk::Clock::time_point()> clock() const override { return clock_; }
  std::string instance_name() const override { return name_; }

 private:
  sdk::Logger& logger_;
  sdk::Metrics& metrics_;
  std::string name_;
  std::function<sdk::Clock::time_point()> clock_;
};

}  // namespace vgpu::core
