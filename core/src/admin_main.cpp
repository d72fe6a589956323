// vgpu-admin: the operator's CLI over the config DB. This is the first slice (register, list,
// tokens, priority); the full command set is its own issue. Exit codes: 0 ok, 1 refused, 2 usage.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>

#include "config_db.hpp"
#include "token.hpp"
#include "vgpu/sdk/job.hpp"

using namespace vgpu::core;

namespace {

int parse_priority(const std::string& text) {
  if (text == "low" || text == "0") return 0;
  if (text == "medium" || text == "1") return 1;
  if (text == "high" || text == "2") return 2;
  throw DbError("priority must be low, medium or high (or 0, 1, 2), got '" + text + "'");
}

VmRecord require_vm(ConfigDb& db, const std::string& vm) {
  auto found = db.find_vm(vm);
  if (!found) throw DbError("no VM with UUID or name '" + vm + "'");
  return *found;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"vgpu-admin: manage the vgpu config DB"};
  app.require_subcommand(1);
  const char* env_db = std::getenv("VGPU_DB");
  std::string db_path = env_db ? env_db : "vgpu.db";
  app.add_option("--db", db_path, "config DB file (default: $VGPU_DB or ./vgpu.db)");

  auto* reg = app.add_subcommand("register-vm", "register a VM in a pool with a priority");
  std::string uuid, name, pool = "A", priority = "medium";
  std::uint32_t vm_id = 0;
  reg->add_option("--vm-uuid", uuid, "the hypervisor's UUID of the VM")->required();
  reg->add_option("--name", name, "a readable name");
  reg->add_option("--pool", pool, "pool name (default A)");
  reg->add_option("--priority", priority, "low, medium (default) or high");
  reg->add_option("--vm-id", vm_id, "host-unique id (default: lowest free)");

  auto* list = app.add_subcommand("list-vms", "list registered VMs");
  bool json = false;
  list->add_flag("--json", json, "machine-readable output");

  auto* token = app.add_subcommand("issue-token", "create a VM's secret token (printed once)");
  std::string vm;
  token->add_option("vm", vm, "UUID or name")->required();

  auto* setprio = app.add_subcommand("set-priority", "change a VM's priority");
  setprio->add_option("vm", vm, "UUID or name")->required();
  setprio->add_option("priority", priority, "low, medium or high")->required();

  CLI11_PARSE(app, argc, argv);
  try {
    auto db = ConfigDb::open(db_path);
    if (*reg) {
      VmRecord record;
      record.uuid = uuid;
      record.name = name;
      record.pool = pool;
      record.priority = parse_priority(priority);
      record.vm_id = vm_id ? vm_id : db.lowest_free_vm_id();
      db.insert_vm(record);
      std::cout << "registered " << uuid << " as vm_id " << record.vm_id << " in pool " << pool
                << " with priority " << vgpu::sdk::priority_name(record.priority) << "\n";
    } else if (*list) {
      auto vms = db.vms();
      if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& v : vms)
          out.push_back({{"vm_uuid", v.uuid},
                         {"name", v.name},
                         {"vm_id", v.vm_id},
                         {"pool", v.pool},
                         {"priority", vgpu::sdk::priority_name(v.priority)},
                         {"weight", v.weight},
                         {"has_token", v.token_hash.has_value()}});
        std::cout << out.dump(2) << "\n";
      } else {
        std::printf("%-6s %-36s %-16s %-5s %-8s %s\n", "VM_ID", "UUID", "NAME", "POOL", "PRIORITY",
                    "TOKEN");
        for (const auto& v : vms)
          std::printf("%-6u %-36s %-16s %-5s %-8s %s\n", v.vm_id, v.uuid.c_str(), v.name.c_str(),
                      v.pool.c_str(), vgpu::sdk::priority_name(v.priority),
                      v.token_hash ? "yes" : "no");
      }
    } else if (*token) {
      auto record = require_vm(db, vm);
      const auto secret = generate_token();
      db.set_token_hash(record.uuid, hash_token(secret));
      std::cout << secret << "\n";
      std::cerr << "token for vm_id " << record.vm_id
                << " stored hashed; it is shown only now: pass it to the VM's vgpu-stub device\n";
    } else if (*setprio) {
      auto record = require_vm(db, vm);
      db.set_priority(record.uuid, parse_priority(priority));
      std::cout << "vm_id " << record.vm_id << " priority is now " << priority
                << " (the mediator applies it to the next job)\n";
    }
  } catch (const DbError& e) {
    std::cerr << "vgpu-admin: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
