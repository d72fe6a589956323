#include "identity_directory.hpp"

#include "token.hpp"

namespace vgpu::core {

void IdentityDirectory::load_from(ConfigDb& db) {
  auto next = std::make_shared<Snapshot>();
  std::unordered_map<std::string, double> pool_weight;
  std::unordered_map<std::string, std::int64_t> pool_device;
  for (const auto& pool : db.pools()) {
    pool_weight[pool.name] = pool.weight;
    if (pool.device) pool_device[pool.name] = *pool.device;
  }
  for (const auto& vm : db.vms()) {
    VmIdentity id;
    id.tenant = sdk::Tenant{vm.vm_id, vm.pool, vm.priority, vm.weight, pool_weight[vm.pool]};
    if (vm.memory_quota_mb) id.tenant.memory_quota_bytes = std::uint64_t(*vm.memory_quota_mb) << 20;
    id.uuid = vm.uuid;
    id.name = vm.name;
    id.token_hash = vm.token_hash;
    id.vsock_cid = vm.vsock_cid;
    if (vm.max_queued) id.max_queued = static_cast<std::size_t>(*vm.max_queued);
    if (vm.device)
      id.device_pin = DevicePin{static_cast<int>(*vm.device), "vms.device"};
    else if (auto pool = pool_device.find(vm.pool); pool != pool_device.end())
      id.device_pin = DevicePin{static_cast<int>(pool->second), "pools.device of pool " + vm.pool};
    // Every hypervisor-assigned address the DB records for the VM, in PeerIdentity's form.
    if (vm.vsock_cid)
      next->vm_id_by_address["vsock-cid:" + std::to_string(*vm.vsock_cid)] = vm.vm_id;
    next->by_vm_id.emplace(vm.vm_id, std::move(id));
  }
  std::lock_guard lock(mutex_);
  snapshot_ = std::move(next);
}

std::shared_ptr<const IdentityDirectory::Snapshot> IdentityDirectory::snapshot() const {
  std::lock_guard lock(mutex_);
  return snapshot_;
}

std::optional<VmIdentity> IdentityDirectory::find(std::uint32_t vm_id) const {
  auto snap = snapshot();
  auto it = snap->by_vm_id.find(vm_id);
  if (it == snap->by_vm_id.end()) return std::nullopt;
  return it->second;
}

std::size_t IdentityDirectory::size() const {
  return snapshot()->by_vm_id.size();
}

std::vector<std::uint32_t> IdentityDirectory::vm_ids() const {
  auto snap = snapshot();
  std::vector<std::uint32_t> ids;
  ids.reserve(snap->by_vm_id.size());
  for (const auto& [vm_id, identity] : snap->by_vm_id) ids.push_back(vm_id);
  return ids;
}

sdk::AuthOutcome IdentityDirectory::authenticate(const sdk::PeerIdentity& peer, bool require_tokens,
                                                 std::string* detail) const {
  auto refuse = [&](std::string shown, std::string why) {
    if (detail) *detail = std::move(why);
    sdk::AuthOutcome out;
    out.status = sdk::Status::unauthenticated;
    out.message = std::move(shown);
    return out;
  };
  // One answer for every reason a claim fails, so the answer tells nothing about which vm_ids
  // are registered.
  auto refuse_claim = [&](std::uint32_t vm_id, std::string why) {
    return refuse("authentication failed for vm_id " + std::to_string(vm_id) +
                      ": unknown VM, or a missing or wrong token",
                  std::move(why));
  };
  auto snap = snapshot();
  std::uint32_t vm_id = peer.vm_id;
  if (peer.proof == sdk::PeerIdentity::Proof::bound_address) {
    // The hypervisor assigned the address: it decides who this is, and the claim must agree.
    // The guest already knows its own address, so these answers may say what is wrong.
    auto bound = snap->vm_id_by_address.find(peer.bound_address);
    if (bound == snap->vm_id_by_address.end()) {
      std::string why = peer.bound_address + " belongs to no registered VM";
      return refuse(why, why);
    }
    if (peer.vm_id != 0 && peer.vm_id != bound->second) {
      std::string why = "claims vm_id " + std::to_string(peer.vm_id) + " but " +
                        peer.bound_address + " belongs to vm_id " + std::to_string(bound->second);
      return refuse(why, why);
    }
    vm_id = bound->second;
  }
  auto it = snap->by_vm_id.find(vm_id);
  if (it == snap->by_vm_id.end())
    return refuse_claim(
        vm_id, "unknown vm_id " + std::to_string(vm_id) + ": not registered in the config DB");
  const VmIdentity& vm = it->second;
  // A transport's own proof (a directory, a hypervisor-assigned address) is as good as a token.
  const bool proven_by_transport = peer.proof != sdk::PeerIdentity::Proof::none;
  if (!proven_by_transport) {
    if (vm.token_hash) {
      if (peer.token.empty())
        return refuse_claim(vm_id, "vm_id " + std::to_string(vm_id) + " requires a token");
      if (!token_matches(peer.token, *vm.token_hash))
        return refuse_claim(vm_id, "wrong token for vm_id " + std::to_string(vm_id));
    } else if (require_tokens) {
      return refuse_claim(vm_id, "vm_id " + std::to_string(vm_id) +
                                     " has no token and security.require_tokens is on (issue "
                                     "one: vgpu-admin issue-token)");
    }
  }
  sdk::AuthOutcome ok;
  ok.tenant = vm.tenant;
  ok.vm_name = vm.name;
  return ok;
}

}  // namespace vgpu::core
