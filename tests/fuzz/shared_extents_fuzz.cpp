// Fuzz target: a SUBMIT's shared-memory ranges (offset and size, chosen by the guest) against
// the VM's region and its rings. Whatever is accepted must lie inside the region and off the
// rings; the copy of the inputs must not read outside the region (ASan watches).
#include <memory>

#include "fuzz_input.hpp"
#include "shared_extents.hpp"

using namespace vgpu;

namespace {

class FakeRegion final : public sdk::SharedRegion {
 public:
  explicit FakeRegion(std::size_t size)
      : bytes_(std::make_unique<std::uint8_t[]>(size)), size_(size) {}
  std::uint8_t* base() const override { return bytes_.get(); }
  std::size_t size() const override { return size_; }
  const std::string& name() const override { return name_; }

 private:
  std::unique_ptr<std::uint8_t[]> bytes_;
  std::size_t size_;
  std::string name_ = "fuzz";
};

std::uint64_t u64(const std::uint8_t* p) {
  std::uint64_t v = 0;
  std::memcpy(&v, p, sizeof v);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // A region of 1 MiB (with rings) or 64 KiB (without), then up to 8 extents of 16 bytes.
  static const auto large = std::make_shared<FakeRegion>(1u << 20);
  static const auto small = std::make_shared<FakeRegion>(64u << 10);
  const auto& region = data[0] & 1 ? large : small;
  const std::size_t region_size = region->size();
  const auto rings = wire::rings_offset_for(region_size);
  wire::Submit submit;
  const std::size_t inputs = data[1] % 5;
  const std::uint8_t* p = data + 2;
  std::size_t left = size - 2;
  for (std::size_t i = 0; left >= 16 && i < 8; ++i, p += 16, left -= 16)
    (i < inputs ? submit.shared_inputs : submit.shared_outputs).push_back({u64(p), u64(p + 8)});
  sdk::SubmitRequest request;
  const auto why = transports::take_shared_memory(submit, region, rings, request);
  if (!why.empty()) return 0;
  for (const auto& e : submit.shared_inputs) {
    fuzz::require(e.offset <= region_size && e.size <= region_size - e.offset);
    if (rings) fuzz::require(!wire::overlaps_rings(e.offset, e.size, *rings));
  }
  for (const auto& place : request.output_places) {
    fuzz::require(place.offset <= region_size && place.capacity <= region_size - place.offset);
    if (rings) fuzz::require(!wire::overlaps_rings(place.offset, place.capacity, *rings));
  }
  return 0;
}
