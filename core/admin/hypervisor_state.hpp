// The root-only folders where the hypervisor adapters keep what a VM's start needs (its device
// line, its token), named by the hypervisor's VM UUID. Tokens are the VMs' credentials: they stay
// off command lines, out of the hypervisor's own configuration and out of logs.
#pragma once

#include <filesystem>
#include <string>

namespace vgpu::admin {

// `env`'s value when set, else `fallback`, created and made 0700 (throws HypervisorError).
std::filesystem::path state_folder(const char* env, const std::filesystem::path& fallback);

// Throws HypervisorError unless `uuid` holds only what a UUID is made of (it names files).
void check_uuid_names_a_file(const std::string& uuid);

// Writes `text` to `path` as a new 0600 file, then renames it into place: a reader sees the old
// file or the new one, never half of one. Throws HypervisorError.
void write_private_file(const std::filesystem::path& path, const std::string& text);

}  // namespace vgpu::admin
