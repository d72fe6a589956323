// Fuzz target: the original protocol's request.txt line (pool:priority:vm_id:COMMAND with
// optional key=value words), as the file transport reads it from a guest's directory.
#include "fuzz_input.hpp"
#include "vgpu/protocol/spool.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > spool::kMaxRequestFileBytes) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)spool::compat_complete(text);
  try {
    const auto r = spool::decode_compat_request(text);
    fuzz::require(!r.command.empty() && !r.pool.empty());
    fuzz::require(r.priority >= 0 && r.priority <= 2);
    (void)protocol::from_legacy_command(r.command);
  } catch (const spool::FormatError&) {
  }
  return 0;
}
