#include "pool_commands.hpp"

#include <algorithm>
#include <boost/asio.hpp>
#include <cstdio>
#include <iostream>

#include "vgpu/sdk/job.hpp"

namespace vgpu::admin {

namespace {

nlohmann::json pool_json(const core::PoolRecord& p, const core::PoolStats& s) {
  return {{"name", p.name},
          {"weight", p.weight},
          {"description", p.description},
          {"vms", s.vms},
          {"low", s.by_priority[0]},
          {"medium", s.by_priority[1]},
          {"high", s.by_priority[2]},
          {"device", p.device ? nlohmann::json(*p.device) : nlohmann::json()}};
}

core::PoolStats stats_of(Admin& a, const std::string& pool) {
  for (const auto& s : a.db.pool_stats())
    if (s.pool == pool) return s;
  return {pool};
}

// Every pool with its member counts: one query for the pools, one for the counts.
nlohmann::json all_pools_json(Admin& a) {
  const auto stats = a.db.pool_stats();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& p : a.db.pools()) {
    auto s = std::find_if(stats.begin(), stats.end(), [&](auto& x) { return x.pool == p.name; });
    out.push_back(pool_json(p, s != stats.end() ? *s : core::PoolStats{p.name}));
  }
  return out;
}

// The mediator's admin socket answers every connection with one JSON document.
std::optional<nlohmann::json> live_figures(const std::string& path, std::string& why) {
  try {
    boost::asio::io_context io;
    boost::asio::local::stream_protocol::socket socket(io);
    boost::system::error_code connect_error;
    socket.connect(boost::asio::local::stream_protocol::endpoint(path), connect_error);
    if (connect_error) {
      why = connect_error.message();
      return std::nullopt;
    }
    std::string text;
    boost::system::error_code ec;
    boost::asio::read(socket, boost::asio::dynamic_buffer(text), ec);
    return nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    why = e.what();
    return std::nullopt;
  }
}

}  // namespace

int list_pools(Admin& a) {
  const nlohmann::json out = all_pools_json(a);
  if (a.json) {
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  std::printf("%-16s %-7s %4s %4s %6s %4s  %s\n", "POOL", "WEIGHT", "VMS", "LOW", "MEDIUM", "HIGH",
              "DESCRIPTION");
  for (const auto& p : out)
    std::printf("%-16s %-7g %4zu %4zu %6zu %4zu  %s\n", p["name"].get<std::string>().c_str(),
                p["weight"].get<double>(), p["vms"].get<std::size_t>(), p["low"].get<std::size_t>(),
                p["medium"].get<std::size_t>(), p["high"].get<std::size_t>(),
                p["description"].get<std::string>().c_str());
  return kOk;
}

int show_pool(Admin& a, const std::string& name) {
  a.require_pool(name);
  const auto pool = *a.db.find_pool(name);
  auto out = pool_json(pool, stats_of(a, name));
  out["members"] = nlohmann::json::array();
  for (const auto& v : a.db.vms())
    if (v.pool == name) out["members"].push_back(vm_json(v));
  if (a.json) {
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  std::printf("pool %s: weight %g, %zu VM(s) (low %zu, medium %zu, high %zu)  %s\n", name.c_str(),
              pool.weight, out["vms"].get<std::size_t>(), out["low"].get<std::size_t>(),
              out["medium"].get<std::size_t>(), out["high"].get<std::size_t>(),
              pool.description.c_str());
  for (const auto& m : out["members"])
    std::printf("  vm_id %-6u %-36s %-16s %s\n", m["vm_id"].get<unsigned>(),
                m["vm_uuid"].get<std::string>().c_str(), m["name"].get<std::string>().c_str(),
                m["priority"].get<std::string>().c_str());
  return kOk;
}

int create_pool(Admin& a, const std::string& name, double weight, const std::string& description) {
  // The DB checks the name itself (1 to 16 of A-Z a-z 0-9 _ -).
  check_weight(weight, "weight");
  if (description.size() > 1024)
    throw Refused("the description must be at most 1024 bytes, got " +
                  std::to_string(description.size()));
  a.db.create_pool(
      {name, weight, description});  // a DbError is a refusal (exit 1), see admin_main.cpp
  std::cout << "created pool " << name << " (weight " << weight << ")\n";
  return kOk;
}

int remove_pool(Admin& a, const std::string& name) {
  a.db.remove_pool(name);  // a DbError is a refusal (exit 1), see admin_main.cpp
  std::cout << "removed pool " << name << "\n";
  return kOk;
}

int set_pool_weight(Admin& a, const std::string& name, double weight) {
  check_weight(weight, "weight");
  a.db.set_pool_weight(name, weight);  // a DbError is a refusal (exit 1), see admin_main.cpp
  std::cout << "pool " << name << " weight is now " << weight
            << " (the mediator applies it to the next job)\n";
  return kOk;
}

int set_pool_device(Admin& a, const std::string& name, const std::string& device) {
  const auto pin = parse_device(device);
  a.db.set_pool_device(name, pin);  // a DbError is a refusal (exit 1), see admin_main.cpp
  std::cout << "pool " << name << ": "
            << (pin ? "its VMs run on device " + std::to_string(*pin)
                    : std::string("its VMs are placed by load"))
            << " (VMs with their own --device keep theirs; applies to a VM's next job once its "
               "running jobs are done)\n";
  return kOk;
}

int status(Admin& a) {
  nlohmann::json out{{"db", a.db.path().string()},
                     {"schema_version", a.db.schema_version()},
                     {"vms", a.db.vms().size()},
                     {"pools", all_pools_json(a)}};
  std::string why;
  auto live = live_figures(a.admin_socket, why);
  out["mediator"] =
      live ? *live
           : nlohmann::json{{"reachable", false}, {"socket", a.admin_socket}, {"error", why}};
  if (live) out["mediator"]["reachable"] = true;
  if (a.json) {
    std::cout << out.dump(2) << "\n";
    return kOk;
  }
  std::printf("config DB: %s (schema %d), %zu VM(s)\n", out["db"].get<std::string>().c_str(),
              out["schema_version"].get<int>(), out["vms"].get<std::size_t>());
  for (const auto& p : out["pools"])
    std::printf("  pool %-8s weight %-5g %zu VM(s): low %zu, medium %zu, high %zu\n",
                p["name"].get<std::string>().c_str(), p["weight"].get<double>(),
                p["vms"].get<std::size_t>(), p["low"].get<std::size_t>(),
                p["medium"].get<std::size_t>(), p["high"].get<std::size_t>());
  if (!live) {
    std::printf("mediator: not reachable at %s (%s)\n", a.admin_socket.c_str(), why.c_str());
    return kOk;
  }
  const auto& m = *live;
  std::printf("mediator: executor %s, %s queued, %s running of %s slots, %s dispatched\n",
              m.value("executor", std::string("?")).c_str(),
              m.value("queued_total", nlohmann::json()).dump().c_str(),
              m.value("running_total", nlohmann::json()).dump().c_str(),
              m.value("slots", nlohmann::json()).dump().c_str(),
              m.value("dispatched_total", nlohmann::json()).dump().c_str());
  std::printf("  policy %s (changed %s time(s) since start, by reloads)\n",
              m.value("policy_name", std::string("?")).c_str(),
              m.value("policy_changes", nlohmann::json()).dump().c_str());
  for (const auto& d : m.value("devices", nlohmann::json::array())) {
    std::printf(
        "  device %zu %-10s %s: %zu running of %zu slots, %zu queued, %zu dispatched, "
        "%zu VM(s) placed%s%s\n",
        d.value("index", std::size_t{0}), d.value("name", std::string("?")).c_str(),
        d.value("device", std::string("?")).c_str(), d.value("running", std::size_t{0}),
        d.value("slots", std::size_t{0}), d.value("queued", std::size_t{0}),
        d.value("dispatched", std::size_t{0}), d.value("vms_placed", std::size_t{0}),
        d.value("usable", true) ? "" : "; UNUSABLE: ",
        d.value("usable", true) ? "" : d.value("unusable_reason", std::string()).c_str());
  }
  return kOk;
}

int running_config(Admin& a) {
  std::string why;
  auto live = live_figures(a.admin_socket, why);
  if (!live || !live->contains("running_config"))
    throw Refused("the mediator is not reachable at " + a.admin_socket + " (" +
                  (live ? std::string("it does not report its configuration") : why) + ")");
  if (a.json) {
    std::cout << nlohmann::json{{"source", live->value("config_source", std::string())},
                                {"yaml", (*live)["running_config"]}}
                     .dump(2)
              << "\n";
    return kOk;
  }
  std::cout << "# running configuration of the mediator at " << a.admin_socket << " (from "
            << live->value("config_source", std::string("?"))
            << "; the policy as the last reload left it)\n"
            << (*live)["running_config"].get<std::string>();
  return kOk;
}

}  // namespace vgpu::admin
