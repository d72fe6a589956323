// Per-VM secrets: 32 hex characters (128 random bits), exactly the 32 bytes of the vgpu-stub
// token registers. The DB keeps only a SHA-256 hash.
#pragma once

#include <string>
#include <string_view>

namespace vgpu::core {

std::string generate_token();
std::string hash_token(std::string_view token);                            // "sha256:<64 hex>"
bool token_matches(std::string_view token, std::string_view stored_hash);  // constant time

}  // namespace vgpu::core
