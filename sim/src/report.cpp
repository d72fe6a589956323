#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace vgpu::sim {
namespace {

struct Acc {
  std::vector<double> waits_ms;
  double busy_s = 0;
  std::size_t missed = 0;
};

GroupStats summarise(std::string name, Acc acc, double total_busy) {
  GroupStats g;
  g.name = std::move(name);
  g.jobs = acc.waits_ms.size();
  g.missed = acc.missed;
  std::sort(acc.waits_ms.begin(), acc.waits_ms.end());
  if (!acc.waits_ms.empty()) {
    double sum = 0;
    for (double w : acc.waits_ms) sum += w;
    g.mean_wait_ms = sum / acc.waits_ms.size();
    auto at = [&](double p) {
      return acc.waits_ms[std::min(acc.waits_ms.size() - 1,
                                   static_cast<std::size_t>(p * (acc.waits_ms.size() - 1) + 0.5))];
    };
    g.p50_wait_ms = at(0.5);
    g.p99_wait_ms = at(0.99);
  }
  g.share = total_busy > 0 ? acc.busy_s / total_busy : 0;
  return g;
}

}  // namespace

double jain(const std::vector<double>& x) {
  double sum = 0, squares = 0;
  for (double v : x) {
    sum += v;
    squares += v * v;
  }
  return squares > 0 ? sum * sum / (x.size() * squares) : 1.0;
}

Report make_report(const Workload& w, const SimResult& r) {
  std::map<std::uint32_t, Acc> by_vm;
  for (const auto& j : r.jobs) {
    by_vm[j.vm_id].waits_ms.push_back(j.wait_s * 1e3);
    by_vm[j.vm_id].busy_s += j.duration_s;
    by_vm[j.vm_id].missed += j.missed_deadline;
  }
  // Entitlements among the VMs that sent work: pool weight share, then VM weight share.
  std::map<std::string, double> pool_vm_weight;
  std::set<std::string> active_pools;
  for (const auto& vm : w.vms)
    if (by_vm.count(vm.vm_id)) {
      pool_vm_weight[vm.pool] += vm.weight;
      active_pools.insert(vm.pool);
    }
  auto pool_weight = [&](const std::string& p) {
    return w.pool_weights.count(p) ? w.pool_weights.at(p) : 1.0;
  };
  double total_pool_weight = 0;
  for (const auto& p : active_pools) total_pool_weight += pool_weight(p);

  Report out;
  std::map<std::string, Acc> by_pool;
  std::vector<double> normalised, raw;
  for (const auto& vm : w.vms) {
    if (!by_vm.count(vm.vm_id)) continue;
    const Acc& acc = by_vm[vm.vm_id];
    auto g = summarise(vm.name, acc, r.busy_s);
    g.pool = vm.pool;
    g.priority = vm.priority;
    g.entitlement = pool_weight(vm.pool) / total_pool_weight * vm.weight / pool_vm_weight[vm.pool];
    normalised.push_back(g.share / g.entitlement);
    raw.push_back(g.share);
    Acc& pool = by_pool[vm.pool];
    pool.waits_ms.insert(pool.waits_ms.end(), acc.waits_ms.begin(), acc.waits_ms.end());
    pool.busy_s += acc.busy_s;
    pool.missed += acc.missed;
    out.vms.push_back(std::move(g));
  }
  for (auto& [name, acc] : by_pool) {
    auto g = summarise(name, acc, r.busy_s);
    g.pool = name;
    g.entitlement = pool_weight(name) / total_pool_weight;
    out.pools.push_back(std::move(g));
  }
  out.jain_index = jain(normalised);
  out.jain_index_raw = jain(raw);
  out.makespan_s = r.makespan_s;
  out.utilisation = r.makespan_s > 0 ? r.busy_s / (r.makespan_s * w.slots) : 0;
  return out;
}

std::string format_text(const Report& report, const std::string& policy) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "policy %s: %.2f s simulated, executor busy %.1f%%\n\n",
                policy.c_str(), report.makespan_s, 100 * report.utilisation);
  out += line;
  auto table = [&](const char* title, const std::vector<GroupStats>& rows, bool vms) {
    std::snprintf(line, sizeof line, "%-15s %-5s %-8s %8s %7s %11s %11s %11s %7s %8s\n", title,
                  "POOL", "PRIORITY", "JOBS", "MISSED", "MEAN_WAIT", "P50_WAIT", "P99_WAIT",
                  "SHARE", "ENTITLED");
    out += line;
    for (const auto& g : rows) {
      std::snprintf(line, sizeof line,
                    "%-15s %-5s %-8s %8zu %7zu %8.2f ms %8.2f ms %8.2f ms %6.1f%% %7.1f%%\n",
                    g.name.c_str(), g.pool.c_str(), vms ? sdk::priority_name(g.priority) : "-",
                    g.jobs, g.missed, g.mean_wait_ms, g.p50_wait_ms, g.p99_wait_ms, 100 * g.share,
                    100 * g.entitlement);
      out += line;
    }
    out += "\n";
  };
  table("VM", report.vms, true);
  table("POOL", report.pools, false);
  std::snprintf(line, sizeof line,
                "Jain's fairness index: %.4f against the weights, %.4f of raw shares\n",
                report.jain_index, report.jain_index_raw);
  out += line;
  return out;
}

nlohmann::json to_json(const Report& report, const std::string& policy) {
  auto rows = [](const std::vector<GroupStats>& gs) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& g : gs)
      a.push_back({{"name", g.name},
                   {"pool", g.pool},
                   {"priority", g.priority},
                   {"jobs", g.jobs},
                   {"missed_deadlines", g.missed},
                   {"mean_wait_ms", g.mean_wait_ms},
                   {"p50_wait_ms", g.p50_wait_ms},
                   {"p99_wait_ms", g.p99_wait_ms},
                   {"share", g.share},
                   {"entitlement", g.entitlement}});
    return a;
  };
  return {{"policy", policy},
          {"makespan_s", report.makespan_s},
          {"utilisation", report.utilisation},
          {"jain_index", report.jain_index},
          {"jain_index_raw", report.jain_index_raw},
          {"vms", rows(report.vms)},
          {"pools", rows(report.pools)}};
}

}  // namespace vgpu::sim
