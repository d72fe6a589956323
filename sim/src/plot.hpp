// PNG charts of a simulation through gnuplot (Debian's gnuplot-nox): per VM, executor share
// against entitlement, and p50/p99 waits.
#pragma once

#include <filesystem>

#include "report.hpp"

namespace vgpu::sim {

// Writes `png`. Throws std::runtime_error naming the problem (no gnuplot, gnuplot failed).
void plot_report(const Report& report, const std::string& policy, const std::filesystem::path& png);

}  // namespace vgpu::sim
