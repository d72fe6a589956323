// A plugin of ABI 4 (two before SDK 1.0): its Executor had no unusable() and its Job no
// output_places, so the loader must refuse it, naming the ABI.
#include <cstdint>

struct OldDescriptor {
  std::uint32_t abi_version;
  std::uint32_t kind;
  const char* name;
  const char* version;
  void* factories[3];
};

extern "C" __attribute__((visibility("default")))
const OldDescriptor vgpu_plugin_descriptor{4, 2, "oldabi", "0.0.0", {nullptr, nullptr, nullptr}};
