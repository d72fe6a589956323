#include "fatbin.hpp"

#include <cstring>

namespace vgpu::guest::cuda {

namespace {
template <typename T>
T load(const std::uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

std::optional<ImageBytes> fatbin(const std::uint8_t* p, std::string& why) {
  // u32 magic, u16 version, u16 header size, u64 size of what follows the header.
  const auto header = load<std::uint16_t>(p + 6);
  const auto body = load<std::uint64_t>(p + 8);
  if (header < 16 || body > kMaxImageBytes) {
    why = "fatbin header states " + std::to_string(body) + " bytes after a header of " +
          std::to_string(header);
    return std::nullopt;
  }
  return ImageBytes{{p, header + body}, "fatbin"};
}

std::optional<ImageBytes> elf(const std::uint8_t* p, std::string& why) {
  if (p[4] != 2) {  // ELFCLASS64
    why = "cubin is not a 64-bit ELF";
    return std::nullopt;
  }
  // The section and program header tables come last in the files nvcc and ptxas write; the
  // image ends where the later of them ends.
  const auto phoff = load<std::uint64_t>(p + 0x20), shoff = load<std::uint64_t>(p + 0x28);
  const auto phentsize = load<std::uint16_t>(p + 0x36), phnum = load<std::uint16_t>(p + 0x38);
  const auto shentsize = load<std::uint16_t>(p + 0x3A), shnum = load<std::uint16_t>(p + 0x3C);
  if (phoff > kMaxImageBytes || shoff > kMaxImageBytes) {
    why = "cubin header tables lie past " + std::to_string(kMaxImageBytes) + " bytes";
    return std::nullopt;
  }
  const std::uint64_t end = std::max<std::uint64_t>(phoff + std::uint64_t(phentsize) * phnum,
                                                    shoff + std::uint64_t(shentsize) * shnum);
  if (end < 0x40) {
    why = "cubin has no header tables";
    return std::nullopt;
  }
  return ImageBytes{{p, end}, "cubin"};
}
}  // namespace

std::optional<ImageBytes> module_image(const void* image, std::string& why) {
  if (!image) {
    why = "no image";
    return std::nullopt;
  }
  const auto* p = static_cast<const std::uint8_t*>(image);
  const auto magic = load<std::uint32_t>(p);
  if (magic == kFatbinMagic) return fatbin(p, why);
  if (magic == kFatbinWrapperMagic) {
    // u32 magic, u32 version, const void* fatbin, ...
    const auto* inner = load<const std::uint8_t*>(p + 8);
    if (!inner || load<std::uint32_t>(inner) != kFatbinMagic) {
      why = "fatbin wrapper points at no fatbin";
      return std::nullopt;
    }
    return fatbin(inner, why);
  }
  if (std::memcmp(p,
                  "\x7f"
                  "ELF",
                  4) == 0)
    return elf(p, why);
  // PTX: text up to its terminating NUL.
  const std::size_t n = strnlen(reinterpret_cast<const char*>(p), kMaxImageBytes);
  if (n == kMaxImageBytes) {
    why = "image is neither a fatbin nor a cubin, and no PTX text ends within 1 GiB";
    return std::nullopt;
  }
  return ImageBytes{{p, n + 1}, "ptx"};
}

}  // namespace vgpu::guest::cuda
