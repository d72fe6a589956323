// CloudStack -> the config DB: which VMs CloudStack says use the GPU, in which pool and with
// which priority, and the DB rows that make it so. One full sync reads every VM and the service
// offerings they use; webhooks only make it run sooner (cloudstack_webhook.hpp).
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "cloudstack_api.hpp"
#include "config_db.hpp"

namespace vgpu::admin::cloudstack {

inline constexpr const char* kManagedBy = "cloudstack";

// /etc/vgpu/cloudstack.yaml (docs/cloudstack.md).
struct Settings {
  std::string api_url;
  std::string api_key;
  std::string secret_key;  // read from secret_key_file (0600)
  std::string zone_id;     // empty: every zone the key sees
  std::string pool_detail = "vgpu.pool";
  std::string priority_detail = "vgpu.priority";
  // The VM's own details are set by its owner; they count only when the operator says so (and
  // made the keys read-only for users: user.vm.readonly.details).
  bool trust_vm_details = false;
  bool tls_verify = true;
  std::chrono::seconds sync_interval{300};
  std::string webhook_listen = "127.0.0.1";
  std::optional<unsigned short> webhook_port;  // none: no listener; 0: any free port
  std::string webhook_secret;  // read from webhook.secret_file; empty: unsigned deliveries
  // KVM VMs get the extraconfig that adds the device (cloudstack_kvm.hpp); the folder must be
  // the libvirt hook's RUN on every KVM host.
  bool kvm_extraconfig = true;
  std::filesystem::path kvm_config_dir = "/run/vgpu/libvirt";
};
// Throws ApiError naming the file, the key and what is wrong.
Settings load_settings(const std::filesystem::path& file);

// A VM as the DB should hold it.
struct WantedVm {
  std::string id;    // CloudStack's VM id, which is also the libvirt domain UUID on KVM
  std::string name;  // its instance name (i-2-10-VM), the XenServer/XCP-ng name-label
  std::string pool;
  int priority = 1;
};

struct SyncReport {
  std::vector<std::string> registered, updated, removed, unchanged;
  std::vector<std::string> configured;  // KVM VMs whose extraconfig was set (cloudstack_kvm.hpp)
  std::vector<std::string> skipped;     // "<vm>: why", for the log
  std::string summary() const;
};

// Pure: the VMs (listVirtualMachines items) and offerings (listServiceOfferings items) to what
// the DB should hold; VMs that cannot be taken go to `skipped` with the reason.
std::vector<WantedVm> wanted_vms(const std::vector<nlohmann::json>& vms,
                                 const std::vector<nlohmann::json>& offerings,
                                 const Settings& settings, std::vector<std::string>& skipped);
// Makes the DB hold `wanted`: registers, updates and removes rows managed by CloudStack, in one
// write transaction; rows the operator registered are never touched (reported as skipped).
SyncReport reconcile(core::ConfigDb& db, const std::vector<WantedVm>& wanted,
                     std::vector<std::string> skipped);
// One full sync: the API, then reconcile().
SyncReport sync_once(Client& client, core::ConfigDb& db, const Settings& settings);

}  // namespace vgpu::admin::cloudstack
