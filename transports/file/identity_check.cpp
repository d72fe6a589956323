#include "identity_check.hpp"

namespace vgpu::transports::file {

IdentityVerdict check_request_identity(sdk::Sink& sink, const VmDirectory& dir,
                                       const std::string& root,
                                       const spool::ClaimedIdentity& claimed) {
  sdk::PeerIdentity peer;
  peer.transport = "file";
  peer.vm_id = dir.vm_id;
  peer.proof = sdk::PeerIdentity::Proof::vm_id;
  peer.peer_address = root + "/" + dir.name;
  const auto auth = sink.authenticate(peer);
  if (auth.status != sdk::Status::ok) return {std::nullopt, auth.message, false};
  const ResolvedVm who = ResolvedVm::from(auth);
  const std::string vm = "vm_id " + std::to_string(who.vm_id);
  if (claimed.vm_id && *claimed.vm_id != who.vm_id)
    return {std::nullopt,
            "the request claims vm_id " + std::to_string(*claimed.vm_id) + ", but " + dir.name +
                "/ belongs to " + vm,
            true};
  if (claimed.pool && !spool::pool_matches(*claimed.pool, who.pool))
    return {std::nullopt,
            "the request claims pool " + *claimed.pool + ", but the config DB puts " + vm +
                " in pool " + who.pool,
            true};
  if (claimed.priority && *claimed.priority != *who.priority)
    return {std::nullopt,
            "the request claims priority " + std::string(sdk::priority_name(*claimed.priority)) +
                ", but the config DB gives " + vm + " priority " +
                sdk::priority_name(*who.priority) +
                " (the device shows the values of the VM's last start)",
            true};
  return {who, "", false};
}

}  // namespace vgpu::transports::file
