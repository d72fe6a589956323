// A SUBMIT's ranges of shared memory (docs/protocol.md, "Shared memory"), checked against the
// connection's region and turned into the request's inputs and output places.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "vgpu/protocol/ring.hpp"
#include "vgpu/protocol/wire.hpp"
#include "vgpu/sdk/transport.hpp"

namespace vgpu::transports {

// Copies the request's inputs out of `region` and records where its outputs go. Returns why
// that cannot be done, naming the extent; empty on success. Only this job is refused.
// `region` is null when the connection has none; `rings` is where its rings lie, if it has them.
inline std::string take_shared_memory(const wire::Submit& submit,
                                      const std::shared_ptr<sdk::SharedRegion>& region,
                                      std::optional<std::uint64_t> rings,
                                      sdk::SubmitRequest& request) {
  if (submit.shared_inputs.empty() && submit.shared_outputs.empty()) return {};
  if (!region)
    return "the request names shared memory but this connection has none (the client must "
           "ask for it in HELLO, and the transport needs shared_memory_dir)";
  auto misplaced = [&](const wire::Extent& e, const char* what, std::size_t i) -> std::string {
    const std::string which = std::string(what) + " " + std::to_string(i) + " (offset " +
                              std::to_string(e.offset) + ", " + std::to_string(e.size) + " bytes)";
    if (e.offset > region->size() || e.size > region->size() - e.offset)
      return which + " lies outside the shared memory of " + std::to_string(region->size()) +
             " bytes";
    if (rings && wire::overlaps_rings(e.offset, e.size, *rings))
      return which + " overlaps the rings (offset " + std::to_string(*rings) + ", " +
             std::to_string(wire::kRingsBytes) + " bytes)";
    return {};
  };
  for (std::size_t i = 0; i < submit.shared_inputs.size(); ++i)
    if (auto why = misplaced(submit.shared_inputs[i], "shared input", i); !why.empty()) return why;
  for (std::size_t i = 0; i < submit.shared_outputs.size(); ++i)
    if (auto why = misplaced(submit.shared_outputs[i], "shared output", i); !why.empty())
      return why;
  // Inputs are copied once, so the guest changing them later cannot affect the running job.
  for (const auto& e : submit.shared_inputs)
    request.inputs.emplace_back(region->base() + e.offset, region->base() + e.offset + e.size);
  for (const auto& e : submit.shared_outputs)
    request.output_places.push_back({region, e.offset, e.size});
  return {};
}

}  // namespace vgpu::transports
