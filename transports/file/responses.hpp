// What the file transport writes back: the original response.txt text and the spool's .res.
#pragma once

#include <string>

#include "vgpu/protocol/spool.hpp"
#include "vgpu/sdk/job.hpp"

namespace vgpu::transports::file {

// Who the request belonged to, as the config DB says (empty pool when it could not be resolved).
struct ResolvedVm {
  std::uint32_t vm_id = 0;
  std::string pool;
  int priority = 1;
  std::string name;
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
