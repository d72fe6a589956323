// Outputs that go into the client's shared memory instead of through the transport
// (docs/protocol.md, "Shared memory"). An executor may write them there itself (the cuda executor
// copies from the device straight into the region); for every other executor the core moves the
// returned outputs into place here, so each executor serves shared-memory clients unchanged.
#pragma once

#include <cstring>
#include <string>

#include "vgpu/sdk/job.hpp"

namespace vgpu::sdk {

// Why an output of `size` bytes cannot go to `place`; empty when it fits.
inline std::string place_misfit(std::size_t index, std::size_t size, const OutputPlace& place) {
  if (size <= place.capacity) return {};
  return "output " + std::to_string(index) + " is " + std::to_string(size) +
         " bytes but its place in shared memory holds " + std::to_string(place.capacity) +
         " (offset " + std::to_string(place.offset) + " of " + place.region->name() + ")";
}

// Moves a successful result's outputs into `places` (one per output, in order) unless the
// executor already put them there. An output that does not fit fails the job, naming it.
inline void settle_outputs(const std::vector<OutputPlace>& places, JobResult& result) {
  if (places.empty() || result.status != Status::ok || !result.placed_sizes.empty()) return;
  if (result.outputs.size() > places.size()) {
    result = JobResult::failure(
        Status::bad_request, "the op returned " + std::to_string(result.outputs.size()) +
                                 " outputs but the request named " + std::to_string(places.size()) +
                                 " places in shared memory");
    return;
  }
  for (std::size_t i = 0; i < result.outputs.size(); ++i) {
    if (auto why = place_misfit(i, result.outputs[i].size(), places[i]); !why.empty()) {
      result = JobResult::failure(Status::bad_request, why);
      return;
    }
  }
  for (std::size_t i = 0; i < result.outputs.size(); ++i) {
    if (!result.outputs[i].empty())
      std::memcpy(places[i].data(), result.outputs[i].data(), result.outputs[i].size());
    result.placed_sizes.push_back(result.outputs[i].size());
  }
  result.outputs.clear();
}

}  // namespace vgpu::sdk
