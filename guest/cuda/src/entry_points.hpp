// Lookup of the driver entry points this library implements (entry_points.cpp).
#pragma once

namespace vgpu::guest::cuda {

// The function for a base name as of `cuda_version`; null when this library does not implement
// it, with `too_old` set when it does but only with the ABI of a newer version.
const void* find_entry_point(const char* name, int cuda_version, bool& too_old);
bool is_implemented(const char* name);
// For a function this library exports by name but does not implement (linked_names.cpp): logs
// the name once, returns CUDA_ERROR_NOT_SUPPORTED (as an int: its callers do without <cuda.h>).
int report_unsupported_call(const char* name);

}  // namespace vgpu::guest::cuda
