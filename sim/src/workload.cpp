#include "workload.hpp"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "config.hpp"
#include "yaml_reader.hpp"

namespace vgpu::sim {
namespace {

int parse_priority(const YAML::Node& node) {
  const auto text = node.as<std::string>();
  if (text == "low" || text == "0") return 0;
  if (text == "medium" || text == "1") return 1;
  if (text == "high" || text == "2") return 2;
  throw core::config_error_at(node.Mark(),
                              "priority must be low, medium or high, got '" + text + "'");
}

Source parse_source(const YAML::Node& node) {
  core::YamlReader r(node, {});
  Source s;
  s.vm_id = r.get<std::uint32_t>("vm", 0);
  if (!s.vm_id) throw core::config_error_at(node.Mark(), "a workload entry needs 'vm'");
  const auto kind = r.get<std::string>("kind", "closed");
  if (kind == "closed")
    s.kind = Source::Kind::closed;
  else if (kind == "poisson")
    s.kind = Source::Kind::poisson;
  else if (kind == "burst")
    s.kind = Source::Kind::burst;
  else
    throw core::config_error_at(node["kind"].Mark(), "kind must be closed, poisson or burst");
  s.inflight = r.get_in_range<unsigned>("inflight", 1, 1, 100000);
  s.rate_per_s = r.get<double>("rate", 0);
  s.at_s = r.get<double>("at_s", 0);
  s.count = r.get<unsigned>("count", 0);
  s.start_s = r.get<double>("start_s", 0);
  s.stop_s = r.get<double>("stop_s", -1);
  s.job_us = r.get<double>("job_us", 1000);
  s.jitter = r.get_in_range<double>("jitter", 0, 0, 0.99);
  s.deadline_ms = r.get<double>("deadline_ms", 0);
  r.reject_unknown_keys();
  if (s.job_us <= 0)
    throw core::config_error_at(node["job_us"].Mark(), "'job_us' must be positive");
  if (s.kind == Source::Kind::poisson && s.rate_per_s <= 0)
    throw core::config_error_at(node.Mark(), "a poisson source needs a positive 'rate'");
  return s;
}

}  // namespace

Workload parse_workload_yaml(const std::string& text, const std::string& source) {
  try {
    const YAML::Node root = YAML::Load(text);
    core::YamlReader top(root, {"pools", "vms", "workload"});
    Workload w;
    w.slots = top.get_in_range<unsigned>("slots", 1, 1, 4096);
    w.duration_s = top.get<double>("duration_s", 10);
    w.seed = top.get<std::uint64_t>("seed", 1);
    if (auto pools = root["pools"]) {
      for (const auto& kv : pools)
        w.pool_weights[kv.first.as<std::string>()] = kv.second.as<double>();
    }
    top.reject_unknown_keys();
    for (const auto& v : root["vms"]) {
      core::YamlReader r(v, {"priority"});
      SimVm vm;
      vm.vm_id = r.get<std::uint32_t>("vm_id", 0);
      vm.name = r.get<std::string>("name", "vm" + std::to_string(vm.vm_id));
      vm.pool = r.get<std::string>("pool", "A");
      vm.weight = r.get<double>("weight", 1);
      if (v["priority"]) vm.priority = parse_priority(v["priority"]);
      r.reject_unknown_keys();
      if (!vm.vm_id) throw core::config_error_at(v.Mark(), "each VM needs a positive 'vm_id'");
      if (vm.weight <= 0)
        throw core::config_error_at(v["weight"].Mark(), "'weight' must be positive");
      w.vms.push_back(vm);
    }
    for (const auto& s : root["workload"]) {
      w.sources.push_back(parse_source(s));
      bool known = false;
      for (const auto& vm : w.vms) known = known || vm.vm_id == w.sources.back().vm_id;
      if (!known)
        throw core::config_error_at(s["vm"].Mark(), "vm " + std::to_string(w.sources.back().vm_id) +
                                                        " is not listed under 'vms'");
    }
    if (w.vms.empty()) throw sdk::ConfigError("the workload lists no 'vms'");
    return w;
  } catch (const sdk::ConfigError& e) {
    throw core::ConfigFileError(core::located(source, e.line(), e.column(), e.what()));
  } catch (const YAML::Exception& e) {
    throw core::ConfigFileError(core::located(source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

Workload parse_workload_csv(const std::string& text, const std::string& source) {
  Workload w;
  std::map<std::uint32_t, Source> by_vm;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  double last = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#' || line.rfind("arrival", 0) == 0) continue;
    std::istringstream fields(line);
    std::string f[6];
    for (auto& field : f) std::getline(fields, field, ',');
    try {
      const double at = std::stod(f[0]);
      const auto vm_id = static_cast<std::uint32_t>(std::stoul(f[1]));
      const double duration = std::stod(f[5]);
      if (at < 0 || duration <= 0) throw std::invalid_argument("negative");
      if (!by_vm.count(vm_id)) {
        SimVm vm{vm_id, "vm" + f[1], f[2], std::stoi(f[3]), std::stod(f[4])};
        if (vm.priority < 0 || vm.priority > 2 || vm.weight <= 0)
          throw std::invalid_argument("range");
        w.vms.push_back(vm);
        by_vm[vm_id].kind = Source::Kind::trace;
        by_vm[vm_id].vm_id = vm_id;
      }
      by_vm[vm_id].trace.emplace_back(at, duration);
      last = std::max(last, at);
    } catch (const std::exception&) {
      throw core::ConfigFileError(
          source + ":" + std::to_string(number) +
          ": expected arrival_s,vm_id,pool,priority(0-2),weight,duration_us");
    }
  }
  for (auto& [id, s] : by_vm) w.sources.push_back(std::move(s));
  w.duration_s = last;
  if (w.vms.empty()) throw core::ConfigFileError(source + ": no jobs in the trace");
  return w;
}

Workload load_workload(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw core::ConfigFileError(file.string() + ": cannot open the workload");
  std::stringstream text;
  text << in.rdbuf();
  return file.extension() == ".csv" ? parse_workload_csv(text.str(), file.string())
                                    : parse_workload_yaml(text.str(), file.string());
}

}  // namespace vgpu::sim
