#include "identity_directory.hpp"

#include "token.hpp"

namespace vgpu::core {

void IdentityDirectory::load_from(ConfigDb& db) {
  auto next = std::make_shared<Snapshot>();
  std::unordered_map<std::string, double> pool_weight;
  for (const auto& pool : db.pools()) pool_weight[pool.name] = pool.weight;
  for (const auto& vm : db.vms()) {
    VmIdentity id;
    id.tenant = sdk::Tenant{vm.vm_id, vm.pool, vm.priority, vm.weight, pool_weight[vm.pool]};
    if (vm.memory_quota_mb) id.tenant.memory_quota_bytes = std::uint64_t(*vm.memory_quota_mb) << 20;
    id.uuid = vm.uuid;
    id.name = vm.name;
    id.token_hash = vm.token_hash;
    id.vsock_cid = vm.vsock_cid;
    if (vm.max_queued) id.max_queued = static_cast<std::size_t>(*vm.max_queued);
    if (vm.vsock_cid) next->vm_id_by_cid[*vm.vsock_cid] = vm.vm_id;
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

sdk::AuthOutcome IdentityDirectory::authenticate(const sdk::PeerIdentity& peer) const {
  auto refuse = [](std::string why) {
    sdk::AuthOutcome out;
    out.status = sdk::Status::unauthenticated;
    out.message = std::move(why);
    return out;
  };
  auto snap = snapshot();
  std::uint32_t vm_id = peer.vm_id;
  if (peer.vsock_cid) {
    // The hypervisor assigned the CID: it decides who this is, and the HELLO must agree.
    auto cid = snap->vm_id_by_cid.find(*peer.vsock_cid);
    if (cid == snap->vm_id_by_cid.end())
      return refuse("vsock CID " + std::to_string(*peer.vsock_cid) +
                    " belongs to no registered VM");
    if (peer.vm_id != 0 && peer.vm_id != cid->second)
      return refuse("claims vm_id " + std::to_string(peer.vm_id) + " but its vsock CID " +
                    std::to_string(*peer.vsock_cid) + " belongs to vm_id " +
                    std::to_string(cid->second));
    vm_id = cid->second;
  }
  auto it = snap->by_vm_id.find(vm_id);
  if (it == snap->by_vm_id.end())
    return refuse("unknown vm_id " + std::to_string(vm_id) + ": not registered in the config DB");
  const VmIdentity& vm = it->second;
  // A directory or a hypervisor-assigned CID proves the VM as well as a token does.
  if (vm.token_hash && !peer.directory_proven && !peer.vsock_cid) {
    if (peer.token.empty()) return refuse("vm_id " + std::to_string(vm_id) + " requires a token");
    if (!token_matches(peer.token, *vm.token_hash))
      return refuse("wrong token for vm_id " + std::to_string(vm_id));
  }
  sdk::AuthOutcome ok;
  ok.tenant = vm.tenant;
  ok.vm_name = vm.name;
  return ok;
}

}  // namespace vgpu::core
