// Fuzz target: the mediator's YAML configuration loader. Not guest-reachable, but an operator's
// typo must give a clear ConfigFileError, never a crash or another exception type.
#include "config.hpp"
#include "fuzz_input.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 16 * 1024) return 0;
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    (void)vgpu::core::load_config_text(text, "fuzz.yaml", "/nonexistent");
  } catch (const vgpu::core::ConfigFileError&) {
  }
  return 0;
}
