#include "vm_commands.hpp"

#include <cstdio>
#include <iostream>
#include <map>

#include "device_args.hpp"
#include "hypervisor.hpp"
#include "token.hpp"
#include "vgpu/sdk/job.hpp"

namespace vgpu::admin {

namespace {

void print_table(const std::vector<core::VmRecord>& vms) {
  std::printf("%-6s %-36s %-16s %-5s %-8s %-6s %s\n", "VM_ID", "UUID", "NAME", "POOL", "PRIORITY",
              "WEIGHT", "TOKEN");
  for (const auto& v : vms)
    std::printf("%-6u %-36s %-16s %-5s %-8s %-6g %s\n", v.vm_id, v.uuid.c_str(), v.name.c_str(),
                v.pool.c_str(), sdk::priority_name(v.priority), v.weight,
                v.token_hash ? "yes" : "no");
}

// Applies `c` to `vm`, validating pool, priority and vm_id; returns what needs a VM restart.
std::vector<std::string> merge(Admin& a, core::VmRecord& vm, const VmChanges& c) {
  std::vector<std::string> restart;
  if (c.name) {
    check_name(*c.name, "name");
    vm.name = *c.name;
  }
  if (c.pool && *c.pool != vm.pool) {
    a.require_pool(*c.pool);
    vm.pool = *c.pool;
  }
  if (c.priority) vm.priority = parse_priority(*c.priority);
  if (c.vm_id && *c.vm_id != vm.vm_id) {
    if (*c.vm_id == 0) throw Refused("vm_id must be between 1 and 4294967295");
    for (const auto& other : a.db.vms())
      if (other.vm_id == *c.vm_id)
        throw Refused("vm_id " + std::to_string(*c.vm_id) + " is already used by " + other.uuid +
                      (other.name.empty() ? "" : " (" + other.name + ")"));
    vm.vm_id = *c.vm_id;
    restart.push_back("vm_id");
  }
  if (c.weight) vm.weight = check_weight(*c.weight, "weight");
  if (c.vsock_cid) {
    if (*c.vsock_cid < 3) throw Refused("vsock_cid must be 3 or more (0-2 are reserved)");
    vm.vsock_cid = *c.vsock_cid;
  }
  if (c.max_queued) {
    if (*c.max_queued <= 0) throw Refused("max_queued must be > 0");
    vm.max_queued = *c.max_queued;
  }
  if (c.memory_quota_mb) {
    if (*c.memory_quota_mb <= 0) throw Refused("memory_quota_mb must be > 0");
    vm.memory_quota_mb = *c.memory_quota_mb;
  }
  if (c.device) vm.device = parse_device(*c.device);
  return restart;
}

std::string new_token(Admin& a, const core::VmRecord& vm) {
  const auto secret = core::generate_token();
  a.db.set_token_hash(vm.uuid, core::hash_token(secret));
  return secret;
}

}  // namespace

int register_vm(Admin& a, const std::string& uuid, const VmChanges& settings, bool issue) {
  check_name(uuid, "the VM's UUID");
  core::VmRecord vm;
  std::optional<std::string> token;
  // One write transaction from the checks to the insert: concurrent registrations wait for
  // each other, so two never pick the same free vm_id (ConfigDb::write_transaction).
  a.db.write_transaction([&] {
    if (auto existing = a.db.find_vm(uuid); existing && existing->uuid == uuid)
      throw Refused("VM " + uuid + " is already registered (update-vm changes it)");
    vm = core::VmRecord{};
    vm.uuid = uuid;
    vm.pool = "A";
    merge(a, vm, settings);
    if (!settings.vm_id) vm.vm_id = a.db.lowest_free_vm_id();
    a.db.insert_vm(vm);  // a DbError is a refusal (exit 1), see admin_main.cpp
    if (issue) token = new_token(a, vm);
  });
  std::cout << "registered " << uuid << " as vm_id " << vm.vm_id << " in pool " << vm.pool
            << " with priority " << sdk::priority_name(vm.priority) << "\n";
  if (token) {
    std::cout << "token: " << *token << "\n";
    std::cerr << "the token is stored hashed and shown only now\n";
  }
  return kOk;
}

int list_vms(Admin& a, const std::optional<std::string>& pool,
             const std::optional<std::string>& priority) {
  if (pool) a.require_pool(*pool);
  const int level = priority ? parse_priority(*priority) : -1;
  std::vector<core::VmRecord> vms;
  for (auto& v : a.db.vms())
    if ((!pool || v.pool == *pool) && (level < 0 || v.priority == level)) vms.push_back(v);
  if (a.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : vms) out.push_back(vm_json(v));
    std::cout << out.dump(2) << "\n";
  } else {
    print_table(vms);
  }
  return kOk;
}

int show_vm(Admin& a, const std::string& name) {
  const auto vm = a.require_vm(name);
  if (a.json) {
    std::cout << vm_json(vm).dump(2) << "\n";
    return kOk;
  }
  const auto j = vm_json(vm);
  for (const auto& [key, value] : j.items())
    std::printf("%-16s %s\n", (key + ":").c_str(),
                value.is_string() ? value.get<std::string>().c_str()
                : value.is_null() ? "-"
                                  : value.dump().c_str());
  std::printf("%-16s -device %s\n", "device-args:", device_args(vm, std::nullopt).c_str());
  return kOk;
}

int update_vm(Admin& a, const std::string& name, const VmChanges& changes) {
  if (!changes.any()) throw Refused("nothing to change: give at least one setting");
  auto vm = a.require_vm(name);
  const auto restart = merge(a, vm, changes);
  if (!restart.empty())
    a.confirm("changing " + restart.front() + " of " + vm.uuid +
              " reaches the guest only when the VM restarts, and until then its device shows "
              "the old value, which the mediator no longer accepts");
  a.db.update_vm(vm);  // a DbError is a refusal (exit 1), see admin_main.cpp
  std::cout << "updated " << vm.uuid << ": vm_id " << vm.vm_id << ", pool " << vm.pool
            << ", priority " << sdk::priority_name(vm.priority) << ", weight " << vm.weight << "\n";
  std::cout << (restart.empty()
                    ? "the mediator applies it to the VM's next job; the guest's device shows it "
                      "after the VM's next restart (vgpu-admin apply)\n"
                    : "restart the VM to apply it (vgpu-admin apply first)\n");
  return kOk;
}

int remove_vm(Admin& a, const std::string& name) {
  const auto vm = a.require_vm(name);
  a.confirm("removing " + vm.uuid + " (vm_id " + std::to_string(vm.vm_id) +
            ") stops the mediator accepting its jobs");
  a.db.remove_vm(vm.uuid);
  std::cout << "removed " << vm.uuid << " (vm_id " << vm.vm_id << ")\n";
  return kOk;
}

int issue_token(Admin& a, const std::string& name, bool rotate) {
  const auto vm = a.require_vm(name);
  if (vm.token_hash && !rotate)
    throw Refused("VM " + vm.uuid + " already has a token; rotate-token replaces it");
  if (rotate)
    a.confirm("a new token for " + vm.uuid +
              " locks out the running guest until the VM restarts with it");
  std::cout << new_token(a, vm) << "\n";
  std::cerr << "token for vm_id " << vm.vm_id
            << " stored hashed; it is shown only now: pass it to the VM's vgpu-stub device\n";
  return kOk;
}

int device_args_command(Admin& a, const std::string& name, bool rotate_token) {
  const auto vm = a.require_vm(name);
  std::optional<std::string> token;
  if (rotate_token) {
    a.confirm("a new token for " + vm.uuid + " locks out the running guest until it restarts");
    token = new_token(a, vm);
  }
  if (a.json)
    std::cout << nlohmann::json{{"vm_uuid", vm.uuid}, {"device", device_args(vm, token)}}.dump()
              << "\n";
  else
    std::cout << "-device " << device_args(vm, token) << "\n";
  if (!token && vm.token_hash)
    std::cerr << "note: without --rotate-token the argument has no token (only its hash is "
                 "stored)\n";
  return kOk;
}

int apply(Admin& a, const std::string& name, bool rotate_token,
          const std::optional<std::string>& hypervisor_uuid) {
  const auto vm = a.require_vm(name);
  auto hypervisor = make_hypervisor(a.hypervisor);
  std::optional<std::string> token;
  if (rotate_token) {
    a.confirm("a new token for " + vm.uuid + " locks out the running guest until it restarts");
    token = new_token(a, vm);
  }
  // The hypervisor may know the VM under another UUID than the DB (XAPI gives a CloudStack VM a
  // new one at every start; the DB keeps CloudStack's id and the instance name).
  std::cout << hypervisor->apply(hypervisor_uuid.value_or(vm.uuid), device_spec(vm, token)) << "\n";
  a.db.mark_applied(vm.uuid);
  return kOk;
}

int scan_vms(Admin& a) {
  auto hypervisor = make_hypervisor(a.hypervisor);
  const auto found = hypervisor->list_vms();
  std::map<std::string, std::vector<std::pair<HypervisorVm, std::optional<core::VmRecord>>>>
      by_pool;
  std::map<std::string, core::VmRecord> registered;  // read once, not once per hypervisor VM
  for (auto& v : a.db.vms()) registered.emplace(v.uuid, std::move(v));
  for (const auto& h : found) {
    std::optional<core::VmRecord> reg;
    if (auto it = registered.find(h.uuid); it != registered.end()) reg = it->second;
    by_pool[reg ? "pool " + reg->pool : "unregistered"].push_back({h, reg});
  }
  if (a.json) {
    nlohmann::json out{{"hypervisor", hypervisor->name()}, {"vms", nlohmann::json::array()}};
    for (const auto& [group, vms] : by_pool)
      for (const auto& [h, reg] : vms) {
        nlohmann::json row{{"vm_uuid", h.uuid}, {"name", h.name}, {"state", h.state}};
        row["registered"] = reg.has_value();
        row["pool"] = reg ? nlohmann::json(reg->pool) : nlohmann::json();
        row["priority"] =
            reg ? nlohmann::json(sdk::priority_name(reg->priority)) : nlohmann::json();
        row["vm_id"] = reg ? nlohmann::json(reg->vm_id) : nlohmann::json();
        out["vms"].push_back(row);
      }
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  std::cout << found.size() << " VM(s) on " << hypervisor->name() << "\n";
  for (const auto& [group, vms] : by_pool) {
    std::cout << "\n" << group << ":\n";
    for (const auto& [h, reg] : vms)
      std::printf(
          "  %-36s %-16s %-10s %s\n", h.uuid.c_str(), h.name.c_str(), h.state.c_str(),
          reg ? ("vm_id " + std::to_string(reg->vm_id) + ", " + sdk::priority_name(reg->priority))
                    .c_str()
              : "register-vm --vm-uuid=<uuid> to add it");
  }
  return kOk;
}

}  // namespace vgpu::admin
