// MD2 (RFC 1319) and HMAC (RFC 2104) over it. The CUDA runtime checks the driver it loaded with
// an HMAC-MD2 challenge (the "integrity check" export table, export_tables.cpp); this answers it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace vgpu::guest::cuda {

class Md2 {
 public:
  void update(std::span<const std::uint8_t> bytes);
  void update(const void* data, std::size_t n) {
    update({static_cast<const std::uint8_t*>(data), n});
  }
  std::array<std::uint8_t, 16> finish();

 private:
  void add_byte(std::uint8_t b);
  void compress();
  std::array<std::uint8_t, 48> state_{};
  std::array<std::uint8_t, 16> checksum_{};
  std::array<std::uint8_t, 16> block_{};
  std::size_t filled_ = 0;
  std::uint8_t last_ = 0;  // L of RFC 1319's checksum step
};

std::array<std::uint8_t, 16> md2(std::span<const std::uint8_t> bytes);

// HMAC-MD2 with a 16-byte key (MD2's block size).
std::array<std::uint8_t, 16> hmac_md2(std::span<const std::uint8_t, 16> key,
                                      std::span<const std::uint8_t> message);

}  // namespace vgpu::guest::cuda
