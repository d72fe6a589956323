#include "client_probe.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <thread>

namespace vgpu::guest {

using Clock = std::chrono::steady_clock;

ProbeReport run_probe(Client& client, const std::string& op,
                      const std::vector<protocol::Param>& params, const ProbeOptions& options) {
  ProbeReport report;
  auto next = Clock::now();
  for (unsigned i = 0; i < options.count; ++i) {
    std::this_thread::sleep_until(next);
    next += options.interval;
    const auto t0 = Clock::now();
    const RunResult r =
        options.shared ? client.run_shared(op, params, {}, {{0, 4096}}) : client.run(op, params);
    const auto t1 = Clock::now();
    if (r.status != protocol::Status::ok) {
      if (report.failed++ == 0) report.first_error = r.message;
      continue;
    }
    report.round_trips_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  return report;
}

MemorySpeed measure_memory(std::span<std::uint8_t> memory) {
  MemorySpeed speed;
  speed.bytes = std::min<std::size_t>(memory.size(), 8u << 20) & ~std::size_t(7);
  if (speed.bytes == 0) return speed;
  auto* words = reinterpret_cast<volatile std::uint64_t*>(memory.data());
  const std::size_t n = speed.bytes / 8;
  auto t0 = Clock::now();
  for (std::size_t i = 0; i < n; ++i) words[i] = i;
  auto t1 = Clock::now();
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += words[i];
  auto t2 = Clock::now();
  const auto gb_s = [&](Clock::duration d) {
    const double s = std::chrono::duration<double>(d).count();
    return s > 0 ? double(speed.bytes) / s / 1e9 : 0;
  };
  speed.write_gb_s = gb_s(t1 - t0);
  speed.read_gb_s = sum == n * (n - 1) / 2 ? gb_s(t2 - t1) : -1;  // -1: read back wrong
  std::memset(memory.data(), 0, speed.bytes);
  return speed;
}

std::string describe_probe(const std::string& op, const ProbeReport& report,
                           const MemorySpeed* memory, bool rings) {
  std::vector<double> us = report.round_trips_us;
  std::sort(us.begin(), us.end());
  const auto pct = [&](double p) {
    return us.empty() ? 0.0 : us[std::min(us.size() - 1, std::size_t(p * double(us.size())))];
  };
  char text[512];
  std::snprintf(text, sizeof text,
                "{\"probe\": \"%s\", \"done\": %zu, \"failed\": %u, \"p50_us\": %.1f, "
                "\"p99_us\": %.1f, \"max_us\": %.1f, \"rings\": %s",
                op.c_str(), us.size(), report.failed, pct(0.5), pct(0.99),
                us.empty() ? 0.0 : us.back(), rings ? "true" : "false");
  std::string out = text;
  if (memory) {
    std::snprintf(text, sizeof text,
                  ", \"shared_memory_bytes\": %zu, \"write_gb_s\": %.3f, \"read_gb_s\": %.3f",
                  memory->bytes, memory->write_gb_s, memory->read_gb_s);
    out += text;
  }
  return out + "}";
}

}  // namespace vgpu::guest
