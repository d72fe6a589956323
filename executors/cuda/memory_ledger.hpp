// Per-VM device-memory accounting: a job reserves its footprint before it allocates anything,
// and a job that would take its VM over quota fails alone, before touching the device.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

namespace vgpu::executors::cuda {

class MemoryLedger {
 public:
  // Reserves `bytes` for `vm_id` under `quota_bytes` (0: no quota). On refusal returns the reason.
  std::optional<std::string> reserve(std::uint32_t vm_id, std::uint64_t bytes,
                                     std::uint64_t quota_bytes);
  void release(std::uint32_t vm_id, std::uint64_t bytes);
  std::uint64_t in_use(std::uint32_t vm_id) const;
  // Every VM with memory reserved now, and how much.
  std::unordered_map<std::uint32_t, std::uint64_t> all_in_use() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::uint32_t, std::uint64_t> in_use_;
};

// Releases a reservation when the job's scope ends, however it ends.
class Reservation {
 public:
  Reservation(MemoryLedger& ledger, std::uint32_t vm_id, std::uint64_t bytes)
      : ledger_(ledger), vm_id_(vm_id), bytes_(bytes) {}
  ~Reservation() { ledger_.release(vm_id_, bytes_); }
  Reservation(const Reservation&) = delete;
  Reservation& operator=(const Reservation&) = delete;

 private:
  MemoryLedger& ledger_;
  std::uint32_t vm_id_;
  std::uint64_t bytes_;
};

std::string mebibytes(std::uint64_t bytes);  // "12.5 MiB"

}  // namespace vgpu::executors::cuda
