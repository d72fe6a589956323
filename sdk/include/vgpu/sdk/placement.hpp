// An optional role (SDK 1.2): a policy that also derives from Placement decides which device a
// VM's jobs run on when the mediator drives several (an executor entry with `devices:`). Without
// it the core places a VM on the least loaded usable device.
//
// When the core asks: only for a VM that has no job queued or running on any device and that
// the config DB does not pin (vms.device, else pools.device; a pin always wins). Once placed, a
// VM stays on its device until all its jobs have finished, so its jobs keep their order and
// whatever the executor keeps for it (memory quota accounting, pinned shared memory) stays in
// one place. An idle VM is placed afresh by its next job.
//
// Which object: with several devices the core makes one instance of the policy per device (each
// queues and orders that device's jobs) and, when the policy has this role, one more instance
// on which only place() is ever called. So place() never races the policy's queue operations.
//
// Threads: place() is called by whichever transport thread submits the VM's job, under the
// core's placement lock: one call at a time, with a happens-before edge between calls. It must
// not block and should be cheap: every submitting thread waits for it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

// One device as the core sees it when it places a VM.
struct DeviceLoad {
  std::size_t index = 0;  // position in the mediator's device list; what place() returns
  std::string name;       // e.g. "cuda:1", as status and metrics show it
  unsigned slots = 0;     // jobs it runs at once
  std::size_t queued = 0;
  std::size_t running = 0;
  std::size_t vms = 0;  // VMs placed on it now (with jobs queued or running)
  // False while the device cannot take jobs (its executor reports it unusable). The core never
  // places a VM on an unusable device, whatever place() answers.
  bool usable = true;
};

class Placement {
 public:
  virtual ~Placement() = default;
  // place: the device for `tenant`'s next jobs: an index into `devices` (never empty). Return
  // nothing to leave it to the core's default (least loaded). An index out of range or of an
  // unusable device is logged and the default applies. Must not throw; an exception is logged
  // and the default applies.
  virtual std::optional<std::size_t> place(const Tenant& tenant,
                                           const std::vector<DeviceLoad>& devices) = 0;
};

}  // namespace vgpu::sdk
