#include "admin.hpp"

#include <cmath>
#include <cstdio>

#include <unistd.h>

#include <iostream>

#include "vgpu/sdk/job.hpp"

namespace vgpu::admin {

void Admin::confirm(const std::string& consequence) const {
  if (yes) return;
  if (!isatty(STDIN_FILENO)) throw Refused(consequence + "; confirm with --yes");
  std::cerr << consequence << ". Continue? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  if (answer != "y" && answer != "yes") throw Refused("not confirmed; nothing changed");
}

core::VmRecord Admin::require_vm(const std::string& uuid_or_name) const {
  auto found = db.find_vm(uuid_or_name);  // an ambiguous name throws, listing the candidates
  if (!found) throw Refused("no VM with UUID or name '" + uuid_or_name + "'");
  return *found;
}

void Admin::require_pool(const std::string& pool) const {
  if (!db.find_pool(pool))
    throw Refused("no pool named '" + pool + "' (list-pools shows them; create-pool adds one)");
}

int parse_priority(const std::string& text) {
  if (text == "low" || text == "0") return 0;
  if (text == "medium" || text == "1") return 1;
  if (text == "high" || text == "2") return 2;
  throw Refused("priority must be low, medium or high (or 0, 1, 2), got '" + text + "'");
}

nlohmann::json vm_json(const core::VmRecord& v) {
  nlohmann::json out{{"vm_uuid", v.uuid},
                     {"name", v.name},
                     {"vm_id", v.vm_id},
                     {"pool", v.pool},
                     {"priority", sdk::priority_name(v.priority)},
                     {"weight", v.weight},
                     {"has_token", v.token_hash.has_value()},
                     {"updated_at", v.updated_at}};
  out["vsock_cid"] = v.vsock_cid ? nlohmann::json(*v.vsock_cid) : nlohmann::json();
  out["max_queued"] = v.max_queued ? nlohmann::json(*v.max_queued) : nlohmann::json();
  out["memory_quota_mb"] =
      v.memory_quota_mb ? nlohmann::json(*v.memory_quota_mb) : nlohmann::json();
  out["applied_at"] = v.applied_at ? nlohmann::json(*v.applied_at) : nlohmann::json();
  out["device"] = v.device ? nlohmann::json(*v.device) : nlohmann::json();
  out["managed_by"] = v.managed_by ? nlohmann::json(*v.managed_by) : nlohmann::json();
  return out;
}

std::optional<std::int64_t> parse_device(const std::string& text) {
  if (text == "none") return std::nullopt;
  if (text.empty() || text.size() > 2 ||
      text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) > 63)
    throw Refused("device must be a number from 0 to 63, or none, got '" + text + "'");
  return std::stoi(text);
}

double check_weight(double weight, const std::string& what) {
  if (!std::isfinite(weight) || !(weight > 0) || weight > 1e6)
    throw Refused(what + " must be a number greater than 0 and at most 1000000, got " +
                  std::to_string(weight));
  return weight;
}

void check_name(const std::string& name, const std::string& what) {
  if (name.empty() || name.size() > 64)
    throw Refused(what + " must be 1 to 64 characters long, got " + std::to_string(name.size()));
  for (std::size_t i = 0; i < name.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(name[i]);
    if (c <= 0x20 || c >= 0x7f) {
      char code[8];
      std::snprintf(code, sizeof code, "0x%02x", c);
      throw Refused(what + " may hold printable ASCII without spaces only; character " +
                    std::to_string(i + 1) + " is " + code);
    }
  }
}

}  // namespace vgpu::admin
