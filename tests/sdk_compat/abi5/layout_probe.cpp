// Built into the ABI 5 plugins only: exports the layout they were compiled with.
#include "layout_probe.hpp"

extern "C" __attribute__((visibility("default")))
const std::size_t vgpu_abi5_layout[kAbi5LayoutEntries] = VGPU_ABI5_LAYOUT;
