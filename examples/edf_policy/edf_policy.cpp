// edf: earliest deadline first. Jobs with a deadline run in deadline order; jobs without one
// run after them, in arrival order. Pools and priorities are ignored: the deadline is the
// contract. A whole policy in one file, depending only on the vgpu SDK.
#include <set>
#include <unordered_map>

#include "vgpu/sdk/plugin.hpp"

namespace {

using vgpu::sdk::Clock;
using vgpu::sdk::JobId;
using vgpu::sdk::JobPtr;

class EdfPolicy final : public vgpu::sdk::Policy {
 public:
  void enqueue(JobPtr job) override {
    // No deadline sorts after every real one; the job id keeps arrival order among equals.
    const JobId id = job->id;  // read before the pointer is moved away below
    const Key key{job->deadline.value_or(Clock::time_point::max()), id};
    order_.insert(key);
    jobs_.emplace(id, Entry{key, std::move(job)});
  }

  JobPtr dispatch(const vgpu::sdk::SlotInfo&) override {
    if (order_.empty()) return nullptr;
    return take(order_.begin()->second);
  }

  JobPtr cancel(JobId id) override { return jobs_.count(id) ? take(id) : nullptr; }
  std::size_t pending() const override { return jobs_.size(); }

 private:
  using Key = std::pair<Clock::time_point, JobId>;
  struct Entry {
    Key key;
    JobPtr job;
  };

  JobPtr take(JobId id) {
    auto it = jobs_.find(id);
    JobPtr job = std::move(it->second.job);
    order_.erase(it->second.key);
    jobs_.erase(it);
    return job;
  }

  std::set<Key> order_;
  std::unordered_map<JobId, Entry> jobs_;
};

std::unique_ptr<vgpu::sdk::Policy> make_edf(const vgpu::sdk::Settings&,
                                            const vgpu::sdk::PluginContext&) {
  return std::make_unique<EdfPolicy>();
}

}  // namespace

// No settings (an empty schema): a key under `policy:` is refused as unknown, so a typo is
// still an error.
VGPU_EXPORT_POLICY("edf", "1.1.0", "earliest deadline first; jobs without one after, in order",
                   vgpu::sdk::SettingsSchema{}, make_edf)
