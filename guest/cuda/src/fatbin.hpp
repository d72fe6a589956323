// How long a module image is. cuModuleLoadData gets only a pointer; to send the image to the
// host the guest driver must know its size, which each format states in its own header: a
// fatbin (what nvcc embeds), the CUDA runtime's wrapper around one, an ELF cubin, or PTX text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace vgpu::guest::cuda {

inline constexpr std::uint32_t kFatbinMagic = 0xBA55ED50;
inline constexpr std::uint32_t kFatbinWrapperMagic = 0x466243B1;
inline constexpr std::size_t kMaxImageBytes = std::size_t(1) << 30;

struct ImageBytes {
  std::span<const std::uint8_t> bytes;
  const char* format = "";  // "fatbin", "cubin" or "ptx", for messages
};

// The image at `image` with its length, or nullopt with `why` set when the header is not one
// of the known formats or states an impossible size.
std::optional<ImageBytes> module_image(const void* image, std::string& why);

}  // namespace vgpu::guest::cuda
