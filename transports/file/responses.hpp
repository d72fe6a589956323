// What the file transport writes back: the original response.txt text and the spool's .res.
#pragma once

#include <optional>
#include <string>

#include "vgpu/protocol/spool.hpp"
#include "vgpu/sdk/transport.hpp"

namespace vgpu::transports::file {

// Who the request belonged to, as the config DB says. A request refused before the DB accepted
// its VM (unreadable, or an identity the DB refused) is answered with the directory's vm_id
// only: no pool, priority or name is written back rather than a guess.
struct ResolvedVm {
  std::uint32_t vm_id = 0;
  std::string pool;
  std::optional<int> priority;
  std::string name;

  static ResolvedVm unresolved(std::uint32_t vm_id) { return {vm_id, "", std::nullopt, ""}; }
  static ResolvedVm from(const sdk::AuthOutcome& accepted) {
    return {accepted.tenant.vm_id, accepted.tenant.pool, accepted.tenant.priority,
            accepted.vm_name};
  }
};

// response.txt: a first line `OK <op>` or `ERROR <status>: <message>`, then `key: value` lines a
// person or a script can read; `request:` names the claimed request so a restarted mediator can
// tell whether this response is already written.
std::string compat_response_text(const std::string& key, const std::string& op,
                                 const sdk::JobResult& result, const ResolvedVm& vm);

// The .res for a spool request named `name`; outputs are `<name>.out<i>`.
spool::Response spool_response(const std::string& name, const sdk::JobResult& result,
                               const ResolvedVm& vm);
std::string output_file_name(const std::string& name, std::size_t index);

}  // namespace vgpu::transports::file
