// A transport of plugin ABI 5: its PeerIdentity differs from SDK 1.0's, so unlike ABI 5 policies
// and executors it must be refused, with the reason.
#include <cstdint>

struct DescriptorV5 {
  std::uint32_t abi_version;
  std::uint32_t kind;
  const char* name;
  const char* version;
  void* factories[3];
};

namespace {
int placeholder;  // a non-null factory address: the loader must refuse before calling it
}

extern "C" __attribute__((visibility("default"))) const DescriptorV5 vgpu_plugin_descriptor{
    5, 1, "oldtcp", "1.0.0", {&placeholder, nullptr, nullptr}};
