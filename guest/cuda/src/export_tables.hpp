// The CUDA runtime's private driver interfaces, reached through cuGetExportTable by UUID. Their
// layouts are NVIDIA's and undocumented; what is known of them comes from independent
// re-implementations (ZLUDA's dark_api, LUPINE's client) and from watching the runtime call
// this library. Each table starts with its own size in bytes where the runtime expects one.
// docs/remote-cuda.md lists them and what each slot does here.
#pragma once

#include <cuda.h>

namespace vgpu::guest::cuda {

// The table for `id`, or CUDA_ERROR_NOT_FOUND (logged once per UUID) for one this library does
// not provide. The runtime treats a missing optional table as "feature absent".
CUresult get_export_table(const void** table, const CUuuid* id);

}  // namespace vgpu::guest::cuda
