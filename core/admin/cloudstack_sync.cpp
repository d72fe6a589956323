#include "cloudstack_sync.hpp"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "admin.hpp"
#include "cloudstack_kvm.hpp"

namespace vgpu::admin::cloudstack {

namespace {

// A secret in a file only its owner may read: a key anyone on the host can read is no secret.
std::string read_secret(const std::filesystem::path& file, const std::string& key) {
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) throw ApiError(key + ": cannot read " + file.string());
  if (st.st_mode & 077) {
    std::ostringstream mode;
    mode << std::oct << (st.st_mode & 0777);
    throw ApiError(key + ": " + file.string() + " may be read by others (mode " + mode.str() +
                   "); chmod 600 it");
  }
  std::ifstream in(file);
  std::string secret((std::istreambuf_iterator<char>(in)), {});
  while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
  if (secret.empty()) throw ApiError(key + ": " + file.string() + " is empty");
  return secret;
}

}  // namespace

Settings load_settings(const std::filesystem::path& file) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(file.string());
  } catch (const YAML::Exception& e) {
    throw ApiError(file.string() + ": " + e.what());
  }
  const auto where = file.string() + ": ";
  auto required = [&](const char* key) {
    if (!root[key] || !root[key].IsScalar() || root[key].Scalar().empty())
      throw ApiError(where + "'" + key + "' is required");
    return root[key].Scalar();
  };
  const std::set<std::string> known = {"api_url",          "api_key",         "secret_key_file",
                                       "zone_id",          "pool_detail",     "priority_detail",
                                       "trust_vm_details", "tls_verify",      "sync_interval_s",
                                       "webhook",          "kvm_extraconfig", "kvm_config_dir"};
  if (!root.IsMap()) throw ApiError(where + "must be a mapping of settings");
  for (const auto& kv : root)
    if (!known.count(kv.first.as<std::string>()))
      throw ApiError(where + "unknown key '" + kv.first.as<std::string>() + "'");
  Settings s;
  s.api_url = required("api_url");
  parse_url(s.api_url);  // refuses a bad one now, not at the first sync
  s.api_key = required("api_key");
  s.secret_key = read_secret(required("secret_key_file"), "secret_key_file");
  try {
    if (root["zone_id"]) s.zone_id = root["zone_id"].as<std::string>();
    if (root["pool_detail"]) s.pool_detail = root["pool_detail"].as<std::string>();
    if (root["priority_detail"]) s.priority_detail = root["priority_detail"].as<std::string>();
    if (root["trust_vm_details"]) s.trust_vm_details = root["trust_vm_details"].as<bool>();
    if (root["tls_verify"]) s.tls_verify = root["tls_verify"].as<bool>();
    if (root["kvm_extraconfig"]) s.kvm_extraconfig = root["kvm_extraconfig"].as<bool>();
    if (root["kvm_config_dir"]) {
      s.kvm_config_dir = root["kvm_config_dir"].as<std::string>();
      // It ends up in a QEMU argument inside XML: a plain absolute path only.
      const auto dir = s.kvm_config_dir.string();
      if (!s.kvm_config_dir.is_absolute() ||
          dir.find_first_not_of(
              "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-") !=
              std::string::npos)
        throw ApiError(where + "'kvm_config_dir' must be an absolute path of A-Z a-z 0-9 / . _ -");
    }
    if (root["sync_interval_s"]) {
      const auto n = root["sync_interval_s"].as<long>();
      if (n < 5 || n > 86400) throw ApiError(where + "'sync_interval_s' must be 5 to 86400");
      s.sync_interval = std::chrono::seconds(n);
    }
    if (const auto hook = root["webhook"]) {
      if (!hook.IsMap()) throw ApiError(where + "'webhook' must be a mapping");
      if (hook["listen"]) s.webhook_listen = hook["listen"].as<std::string>();
      const auto port = hook["port"] ? hook["port"].as<long>() : -1;
      if (port < 0 || port > 65535)
        throw ApiError(where + "'webhook.port' must be 0 (any free port) to 65535");
      s.webhook_port = static_cast<unsigned short>(port);
      if (hook["secret_file"])
        s.webhook_secret =
            read_secret(hook["secret_file"].as<std::string>(), "webhook.secret_file");
    }
  } catch (const YAML::Exception& e) {
    throw ApiError(where + e.what());
  }
  return s;
}

std::string SyncReport::summary() const {
  return std::to_string(registered.size()) + " registered, " + std::to_string(updated.size()) +
         " updated, " + std::to_string(removed.size()) + " removed, " +
         std::to_string(unchanged.size()) + " unchanged, " + std::to_string(skipped.size()) +
         " skipped" +
         (configured.empty() ? ""
                             : ", " + std::to_string(configured.size()) + " KVM extraconfig set");
}

std::vector<WantedVm> wanted_vms(const std::vector<nlohmann::json>& vms,
                                 const std::vector<nlohmann::json>& offerings,
                                 const Settings& settings, std::vector<std::string>& skipped) {
  std::map<std::string, const nlohmann::json*> offering_by_id;
  for (const auto& o : offerings) offering_by_id[string_field(o, "id")] = &o;
  std::vector<WantedVm> out;
  for (const auto& vm : vms) {
    const std::string id = string_field(vm, "id"), state = string_field(vm, "state");
    // Gone or going: nothing will start it again.
    if (id.empty() || state == "Destroyed" || state == "Expunging" || state == "Error") continue;
    const auto* offering = offering_by_id.count(string_field(vm, "serviceofferingid"))
                               ? offering_by_id[string_field(vm, "serviceofferingid")]
                               : nullptr;
    auto setting = [&](const std::string& name) -> std::optional<std::string> {
      if (settings.trust_vm_details)
        if (auto v = detail(vm, "details", name)) return v;
      return offering ? detail(*offering, "serviceofferingdetails", name) : std::nullopt;
    };
    const auto pool = setting(settings.pool_detail);
    const auto priority = setting(settings.priority_detail);
    if (!pool && !priority) continue;  // not a vgpu VM
    WantedVm w;
    w.id = id;
    w.name = string_field(vm, "instancename").empty() ? string_field(vm, "name")
                                                      : string_field(vm, "instancename");
    w.pool = pool.value_or("A");
    try {
      w.priority = priority ? parse_priority(*priority) : 1;
      check_name(w.id, "the VM id");
      if (!w.name.empty()) check_name(w.name, "the instance name");
    } catch (const Refused& e) {
      skipped.push_back(id + ": " + e.what());
      continue;
    }
    out.push_back(std::move(w));
  }
  return out;
}

SyncReport reconcile(core::ConfigDb& db, const std::vector<WantedVm>& wanted,
                     std::vector<std::string> skipped) {
  SyncReport report;
  report.skipped = std::move(skipped);
  db.write_transaction([&] {
    std::map<std::string, core::VmRecord> current;
    for (auto& vm : db.vms()) current.emplace(vm.uuid, std::move(vm));
    std::set<std::string> pools;
    for (const auto& p : db.pools()) pools.insert(p.name);
    std::set<std::string> seen;
    for (const auto& w : wanted) {
      seen.insert(w.id);
      if (!pools.count(w.pool)) {
        try {
          db.create_pool({w.pool, 1.0, "created by vgpu-admin cloudstack"});
          pools.insert(w.pool);
        } catch (const core::DbError& e) {
          report.skipped.push_back(w.id + ": pool '" + w.pool + "': " + e.what());
          continue;
        }
      }
      auto it = current.find(w.id);
      if (it == current.end()) {
        core::VmRecord vm;
        vm.uuid = w.id;
        vm.name = w.name;
        vm.pool = w.pool;
        vm.priority = w.priority;
        vm.vm_id = db.lowest_free_vm_id();
        vm.managed_by = kManagedBy;
        db.insert_vm(vm);
        report.registered.push_back(w.id);
        continue;
      }
      core::VmRecord vm = it->second;
      if (vm.managed_by != kManagedBy) {
        report.skipped.push_back(w.id +
                                 ": registered by the operator, so left as it is "
                                 "(vgpu-admin remove-vm lets CloudStack manage it)");
        continue;
      }
      if (vm.pool == w.pool && vm.priority == w.priority && vm.name == w.name) {
        report.unchanged.push_back(w.id);
        continue;
      }
      vm.pool = w.pool;
      vm.priority = w.priority;
      vm.name = w.name;
      db.update_vm(vm);
      report.updated.push_back(w.id);
    }
    for (const auto& [uuid, vm] : current)
      if (vm.managed_by == kManagedBy && !seen.count(uuid)) {
        db.remove_vm(uuid);
        report.removed.push_back(uuid);
      }
  });
  return report;
}

SyncReport sync_once(Client& client, core::ConfigDb& db, const Settings& settings) {
  std::map<std::string, std::string> filter{{"listall", "true"}, {"details", "all"}};
  if (!settings.zone_id.empty()) filter["zoneid"] = settings.zone_id;
  const auto vms = client.list_all("listVirtualMachines", filter, "virtualmachine");
  std::map<std::string, std::string> offering_filter{{"listall", "true"}};
  const auto offerings =
      client.list_all("listServiceOfferings", offering_filter, "serviceoffering");
  std::vector<std::string> skipped;
  const auto wanted = wanted_vms(vms, offerings, settings, skipped);
  auto report = reconcile(db, wanted, std::move(skipped));
  ensure_kvm_extraconfig(client, vms, wanted, settings, report);
  return report;
}

}  // namespace vgpu::admin::cloudstack
