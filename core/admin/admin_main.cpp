// vgpu-admin: the operator's CLI over the config DB, plus the hypervisor adapters and the IOMMU
// check. Exit codes (docs/admin.md): 0 ok, 1 refused, 2 usage, 3 DB unavailable, 4 hypervisor
// command failed; iommu-check exits 1 when a check fails.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "admin.hpp"
#include "cloudstack_api.hpp"
#include "cloudstack_command.hpp"
#include "hypervisor.hpp"
#include "iommu_check.hpp"
#include "pool_commands.hpp"
#include "vm_commands.hpp"

using namespace vgpu;
using namespace vgpu::admin;

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// The settings register-vm and update-vm share.
void add_vm_settings(CLI::App* cmd, VmChanges& c) {
  cmd->add_option("--name", c.name, "a readable name");
  cmd->add_option("--pool", c.pool, "pool name");
  cmd->add_option("--priority", c.priority, "low, medium or high (or 0, 1, 2)");
  cmd->add_option("--vm-id", c.vm_id, "host-unique id (register: lowest free by default)");
  cmd->add_option("--weight", c.weight, "share inside the pool (weighted policy)");
  cmd->add_option("--vsock-cid", c.vsock_cid, "the VM's vsock CID (vsock transport)");
  cmd->add_option("--max-queued", c.max_queued, "jobs it may have queued or running");
  cmd->add_option("--memory-quota-mb", c.memory_quota_mb, "device memory its jobs may hold");
  cmd->add_option("--device", c.device,
                  "pin its jobs to this device of the mediator (0-63), or none: placed by load");
}

int iommu_command(const std::string& root, const std::string& gpu, bool json) {
  const auto report = iommu_check(root, gpu);
  if (json) {
    nlohmann::json out{{"ok", !report.failed()}, {"checks", nlohmann::json::array()}};
    for (const auto& l : report.lines)
      out["checks"].push_back({{"check", l.name},
                               {"result", to_string(l.level)},
                               {"detail", l.detail},
                               {"fix", l.fix}});
    std::cout << out.dump(2) << "\n";
  } else {
    for (const auto& l : report.lines) {
      std::printf("%-5s %-16s %s\n", to_string(l.level), l.name.c_str(), l.detail.c_str());
      if (!l.fix.empty()) std::printf("      %-16s fix: %s\n", "", l.fix.c_str());
    }
  }
  return report.failed() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vgpu-admin: manage the vgpu config DB and push VM settings to the hypervisor"};
  app.require_subcommand(1);
  app.fallthrough();  // global options (--db, --yes, --hypervisor) also after the command
  std::string db_path = env_or("VGPU_DB", "vgpu.db");
  bool json = false, yes = false;
  std::string hypervisor = env_or("VGPU_HYPERVISOR", "auto");
  std::string admin_socket = env_or("VGPU_ADMIN_SOCKET", "/run/vgpu/admin.sock");
  app.add_option("--db", db_path, "config DB file (default: $VGPU_DB or ./vgpu.db)");
  app.add_option("--hypervisor", hypervisor,
                 "xcpng, libvirt, none or auto (default: $VGPU_HYPERVISOR or auto)");
  app.add_option("--admin-socket", admin_socket, "the mediator's admin socket (status)");
  app.add_flag("--yes,-y", yes, "confirm changes that need a VM restart (for scripts)");
  auto add_json = [&](CLI::App* cmd) { cmd->add_flag("--json", json, "machine-readable output"); };
  auto add_yes = [&](CLI::App* cmd) { cmd->add_flag("--yes,-y", yes, "do not ask"); };

  std::string vm, pool, priority, description, uuid, root = "/", gpu;
  std::optional<std::string> filter_pool, filter_priority;
  std::uint32_t new_vm_id = 0;
  double weight = 1;
  bool issue = false, rotate = false;
  VmChanges changes;

  auto* reg = app.add_subcommand("register-vm", "register a VM in a pool with a priority");
  reg->add_option("--vm-uuid", uuid, "the hypervisor's UUID of the VM")->required();
  add_vm_settings(reg, changes);
  reg->add_flag("--issue-token", issue, "also create its token (printed once)");
  auto* scan = app.add_subcommand("scan-vms", "the hypervisor's VMs by pool, registered or not");
  add_json(scan);
  auto* show = app.add_subcommand("show-vm", "one VM's settings");
  show->add_option("vm", vm, "UUID or name")->required();
  add_json(show);
  auto* list = app.add_subcommand("list-vms", "registered VMs");
  list->add_option("--pool", filter_pool, "only this pool");
  list->add_option("--priority", filter_priority, "only this priority");
  add_json(list);
  auto* set_pool = app.add_subcommand("set-pool", "move a VM to another pool");
  set_pool->add_option("vm", vm, "UUID or name")->required();
  set_pool->add_option("pool", pool, "pool name")->required();
  auto* set_prio = app.add_subcommand("set-priority", "change a VM's priority");
  set_prio->add_option("vm", vm, "UUID or name")->required();
  set_prio->add_option("priority", priority, "low, medium or high")->required();
  auto* set_id = app.add_subcommand("set-vm-id", "change a VM's vm_id (needs a VM restart)");
  set_id->add_option("vm", vm, "UUID or name")->required();
  set_id->add_option("vm_id", new_vm_id, "the new id")->required();
  add_yes(set_id);
  auto* update = app.add_subcommand("update-vm", "change several settings at once");
  update->add_option("vm", vm, "UUID or name")->required();
  add_vm_settings(update, changes);
  add_yes(update);
  auto* remove = app.add_subcommand("remove-vm", "unregister a VM");
  remove->add_option("vm", vm, "UUID or name")->required();
  add_yes(remove);
  auto* pools = app.add_subcommand("list-pools", "pools with their weights and members");
  add_json(pools);
  auto* show_p = app.add_subcommand("show-pool", "one pool's members and statistics");
  show_p->add_option("pool", pool, "pool name")->required();
  add_json(show_p);
  auto* create_p = app.add_subcommand("create-pool", "add a pool");
  create_p->add_option("pool", pool, "1-16 of A-Z a-z 0-9 _ -")->required();
  create_p->add_option("--weight", weight, "its share against other pools (default 1)");
  create_p->add_option("--description", description);
  auto* remove_p = app.add_subcommand("remove-pool", "remove a pool no VM uses");
  remove_p->add_option("pool", pool, "pool name")->required();
  auto* weight_p = app.add_subcommand("set-pool-weight", "change a pool's weight");
  weight_p->add_option("pool", pool, "pool name")->required();
  weight_p->add_option("weight", weight, "> 0")->required();
  std::string device;
  auto* device_p = app.add_subcommand("set-pool-device", "pin a pool's VMs to one device");
  device_p->add_option("pool", pool, "pool name")->required();
  device_p->add_option("device", device, "0-63, or none: placed by load")->required();
  auto* stat = app.add_subcommand("status", "overview, with the running mediator's queues");
  auto* running = app.add_subcommand(
      "running-config", "the running mediator's configuration, with the policy of the last reload");
  add_json(stat);
  auto* token = app.add_subcommand("issue-token", "create a VM's secret token (printed once)");
  token->add_option("vm", vm, "UUID or name")->required();
  auto* rotate_t = app.add_subcommand("rotate-token", "replace a VM's token (printed once)");
  rotate_t->add_option("vm", vm, "UUID or name")->required();
  add_yes(rotate_t);
  auto* apply_c = app.add_subcommand("apply", "push a VM's settings to the hypervisor");
  apply_c->add_option("vm", vm, "UUID or name")->required();
  apply_c->add_flag("--rotate-token", rotate, "include a fresh token (the VM-start hook does)");
  std::optional<std::string> hypervisor_uuid;
  apply_c->add_option("--hypervisor-uuid", hypervisor_uuid,
                      "the hypervisor's UUID for the VM, when it is not the DB's (CloudStack on "
                      "XCP-ng: the VM-start hook finds the VM by its name-label)");
  add_yes(apply_c);
  auto* args_c = app.add_subcommand("device-args", "print the QEMU -device argument for a VM");
  args_c->add_option("vm", vm, "UUID or name")->required();
  args_c->add_flag("--rotate-token", rotate, "include a fresh token");
  add_json(args_c);
  add_yes(args_c);
  std::string cloudstack_config = "/etc/vgpu/cloudstack.yaml";
  auto* cloudstack = app.add_subcommand(
      "cloudstack", "keep the config DB in step with Apache CloudStack (docs/cloudstack.md)");
  cloudstack->require_subcommand(1);
  auto* cs_sync = cloudstack->add_subcommand("sync", "one full sync, then exit");
  auto* cs_serve = cloudstack->add_subcommand(
      "serve", "sync now, then periodically and on webhook events, until SIGTERM");
  for (auto* c : {cs_sync, cs_serve})
    c->add_option("--config", cloudstack_config, "settings (default /etc/vgpu/cloudstack.yaml)");
  auto* iommu = app.add_subcommand("iommu-check", "is the IOMMU on, and where is the GPU");
  iommu->add_option("--gpu", gpu, "the GPU's PCI address (default: the first NVIDIA GPU)");
  iommu->add_option("--root", root, "where / is (tests use a prepared tree)");
  add_json(iommu);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints help, or the parse error on stderr
    return e.get_exit_code() == 0 ? kOk : kUsage;
  }
  if (*iommu) return iommu_command(root, gpu, json);
  try {
    auto db = core::ConfigDb::open(db_path, /*create_if_missing=*/*reg || *create_p || *cloudstack);
    Admin a{db, json, yes, hypervisor, admin_socket};
    if (*reg) return register_vm(a, uuid, changes, issue);
    if (*scan) return scan_vms(a);
    if (*show) return show_vm(a, vm);
    if (*list) return list_vms(a, filter_pool, filter_priority);
    if (*set_pool) return update_vm(a, vm, VmChanges{.pool = pool});
    if (*set_prio) return update_vm(a, vm, VmChanges{.priority = priority});
    if (*set_id) return update_vm(a, vm, VmChanges{.vm_id = new_vm_id});
    if (*update) return update_vm(a, vm, changes);
    if (*remove) return remove_vm(a, vm);
    if (*pools) return list_pools(a);
    if (*show_p) return show_pool(a, pool);
    if (*create_p) return create_pool(a, pool, weight, description);
    if (*remove_p) return remove_pool(a, pool);
    if (*weight_p) return set_pool_weight(a, pool, weight);
    if (*device_p) return set_pool_device(a, pool, device);
    if (*stat) return status(a);
    if (*running) return running_config(a);
    if (*token) return issue_token(a, vm, false);
    if (*rotate_t) return issue_token(a, vm, true);
    if (*apply_c) return apply(a, vm, rotate, hypervisor_uuid);
    if (*args_c) return device_args_command(a, vm, rotate);
    if (*cs_sync) return cloudstack_sync(a, cloudstack_config);
    if (*cs_serve) return cloudstack_serve(a, cloudstack_config);
  } catch (const Refused& e) {
    std::cerr << "vgpu-admin: " << e.what() << "\n";
    return kRefused;
  } catch (const core::DbUnavailable& e) {
    std::cerr << "vgpu-admin: " << e.what() << "\n";
    return kDbUnavailable;
  } catch (const core::DbError& e) {
    std::cerr << "vgpu-admin: " << e.what() << "\n";
    return kRefused;
  } catch (const cloudstack::ApiError& e) {
    std::cerr << "vgpu-admin: cloudstack: " << e.what() << "\n";
    return kRefused;  // the settings file is wrong; CloudStack's own refusals exit 5
  } catch (const HypervisorError& e) {
    std::cerr << "vgpu-admin: " << e.what() << "\n";
    return kHypervisorFailed;
  }
  return kOk;
}
