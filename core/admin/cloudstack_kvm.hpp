// KVM under CloudStack: CloudStack writes a VM's libvirt domain XML afresh at every start, so
// `virsh define` edits do not last there. What lasts is the VM's extraconfig: CloudStack keeps
// it as VM details (`extraconfig-<label>`) and appends each one verbatim inside the <domain>
// it generates. vgpu's extraconfig is the same for every host: one QEMU argument,
// `-readconfig <config_dir>/<vm id>.cfg`, a file the libvirt hook writes on whichever host
// starts the VM, from that host's DB (its vm_id, pool, priority and a fresh token).
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cloudstack_api.hpp"
#include "cloudstack_sync.hpp"

namespace vgpu::admin::cloudstack {

// The detail CloudStack stores it under is "extraconfig-" + this label.
inline constexpr const char* kExtraConfigLabel = "vgpu-stub";

// The XML CloudStack appends to the domain: a <qemu:commandline> that declares its own
// namespace, because CloudStack's <domain> element declares none.
std::string kvm_extraconfig_xml(const std::string& vm_id, const std::filesystem::path& config_dir);

// For each wanted VM that runs on KVM and lacks vgpu's extraconfig (or holds another), sets it
// with updateVirtualMachine. A VM CloudStack refuses it for (additional configuration not
// enabled for its account, ...) goes to report.skipped with CloudStack's reason.
void ensure_kvm_extraconfig(Client& client, const std::vector<nlohmann::json>& vms,
                            const std::vector<WantedVm>& wanted, const Settings& settings,
                            SyncReport& report);

}  // namespace vgpu::admin::cloudstack
