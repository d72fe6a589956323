// An optional role (SDK 1.1): a plugin object that also derives from Telemetry reports gauges
// the core publishes on its metrics endpoint, e.g. an executor's device memory in use per VM,
// its device utilisation or its SM partitions. The core finds the role with dynamic_cast on
// the object the factory made, so plugins built before 1.1 simply report nothing.
//
// Threads: readings() is called by the metrics endpoint's thread, at any time while the object
// lives, concurrently with every other operation: it must be thread-safe, cheap (a scrape
// every few seconds calls it) and must not block on the scheduler.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace vgpu::sdk {

struct Reading {
  // Published as vgpu_<kind>_<name> (kind: executor or policy), so "device_memory_in_use_bytes"
  // becomes vgpu_executor_device_memory_in_use_bytes. Prometheus' naming rules apply: lower
  // case, words joined by '_', the unit last (_bytes, _seconds, _ratio).
  std::string name;
  std::string help;                                         // one line: what it measures
  std::vector<std::pair<std::string, std::string>> labels;  // e.g. {{"vm", "7"}}
  double value = 0;
};

class Telemetry {
 public:
  virtual ~Telemetry() = default;
  // The current value of every gauge, one Reading per labelled series. A reading whose name or
  // label names break Prometheus' rules is dropped by the core (and logged once).
  virtual std::vector<Reading> readings() const = 0;
};

}  // namespace vgpu::sdk
