// What a simulation shows: per VM and per pool, jobs, waits, share of executor time, and how
// fair the shares are against the weights.
#pragma once

#include <nlohmann/json.hpp>

#include "simulator.hpp"

namespace vgpu::sim {

struct GroupStats {
  std::string name;
  std::string pool;
  int priority = 1;
  std::size_t jobs = 0;
  std::size_t missed = 0;  // jobs that finished after their deadline
  double mean_wait_ms = 0, p50_wait_ms = 0, p99_wait_ms = 0;
  double share = 0;        // of all executor time used
  double entitlement = 0;  // what its weights entitle it to, among the VMs that sent work
};

struct Report {
  std::vector<GroupStats> vms;
  std::vector<GroupStats> pools;
  double jain_index = 0;      // over VMs' share / entitlement: 1 = exactly as the weights say
  double jain_index_raw = 0;  // over raw shares: 1 = everyone the same
  double utilisation = 0;
  double makespan_s = 0;
};

Report make_report(const Workload& w, const SimResult& r);
double jain(const std::vector<double>& x);
std::string format_text(const Report& report, const std::string& policy);
nlohmann::json to_json(const Report& report, const std::string& policy);

}  // namespace vgpu::sim
