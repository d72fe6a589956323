// Who each VM is, as the config DB says: an in-memory snapshot for the hot path, swapped whole
// on reload so readers never wait for the DB. Authenticates the identities transports prove.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config_db.hpp"
#include "vgpu/sdk/transport.hpp"

namespace vgpu::core {

// A VM's device as the config DB pins it (docs/multi-gpu.md): the number, and where it came
// from, for messages ("vms.device", "pools.device of pool A").
struct DevicePin {
  int device = 0;
  std::string source;
};

struct VmIdentity {
  sdk::Tenant tenant;
  std::string uuid;
  std::string name;
  std::optional<std::string> token_hash;
  std::optional<std::uint32_t> vsock_cid;
  std::optional<std::size_t> max_queued;
  std::optional<DevicePin> device_pin;  // vms.device, else its pool's pools.device
};

class IdentityDirectory {
 public:
  // Reads the whole DB into a new snapshot and swaps it in.
  void load_from(ConfigDb& db);

  // A refusal's message is the same for an unknown vm_id, a missing and a wrong token, so that
  // a guest cannot learn which vm_ids exist; `detail` (when given) gets the real reason, for the
  // host's log. With `require_tokens`, a VM without a token is refused unless its transport
  // proves it (a directory, a vsock CID).
  sdk::AuthOutcome authenticate(const sdk::PeerIdentity& peer, bool require_tokens = false,
                                std::string* detail = nullptr) const;
  // The VM's current tenant: looked up for every job, so DB changes apply to the next job.
  std::optional<VmIdentity> find(std::uint32_t vm_id) const;
  std::size_t size() const;
  std::vector<std::uint32_t> vm_ids() const;

 private:
  struct Snapshot {
    std::unordered_map<std::uint32_t, VmIdentity> by_vm_id;
    // "<kind>:<value>" (sdk::PeerIdentity::bound_address) -> vm_id.
    std::unordered_map<std::string, std::uint32_t> vm_id_by_address;
  };
  std::shared_ptr<const Snapshot> snapshot() const;

  mutable std::mutex mutex_;  // guards only the pointer swap/copy
  std::shared_ptr<const Snapshot> snapshot_ = std::make_shared<Snapshot>();
};

}  // namespace vgpu::core
