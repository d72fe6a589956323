// `vgpu-admin iommu-check`: is the machine's IOMMU on, which group the GPU is in and what shares
// it, and which driver holds the GPU. Reads procfs/sysfs under `root` (tests point it at a tree
// laid out like the real one) and, on Xen, asks `xl`.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace vgpu::admin {

enum class CheckLevel { pass, warn, fail };

struct CheckLine {
  std::string name;
  CheckLevel level = CheckLevel::pass;
  std::string detail;
  std::string fix;  // empty when nothing needs doing
};

struct IommuReport {
  std::vector<CheckLine> lines;
  bool failed() const;
};

// `gpu_bdf` empty: the first NVIDIA display/3D controller found.
IommuReport iommu_check(const std::filesystem::path& root, const std::string& gpu_bdf);

const char* to_string(CheckLevel level);

}  // namespace vgpu::admin
