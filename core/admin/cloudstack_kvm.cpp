#include "cloudstack_kvm.hpp"

#include <set>

namespace vgpu::admin::cloudstack {

namespace {

std::string current_extraconfig(const nlohmann::json& vm) {
  return detail(vm, "details", std::string("extraconfig-") + kExtraConfigLabel).value_or("");
}

}  // namespace

std::string kvm_extraconfig_xml(const std::string& vm_id, const std::filesystem::path& config_dir) {
  // No blank line inside: CloudStack splits extraconfig into entries at blank lines.
  return "<qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
         "  <qemu:arg value='-readconfig'/>\n"
         "  <qemu:arg value='" +
         (config_dir / (vm_id + ".cfg")).string() +
         "'/>\n"
         "</qemu:commandline>";
}

void ensure_kvm_extraconfig(Client& client, const std::vector<nlohmann::json>& vms,
                            const std::vector<WantedVm>& wanted, const Settings& settings,
                            SyncReport& report) {
  if (!settings.kvm_extraconfig) return;
  std::set<std::string> wanted_ids;
  for (const auto& w : wanted) wanted_ids.insert(w.id);
  for (const auto& vm : vms) {
    const std::string id = string_field(vm, "id");
    if (!wanted_ids.count(id) || string_field(vm, "hypervisor") != "KVM") continue;
    const auto xml = kvm_extraconfig_xml(id, settings.kvm_config_dir);
    if (current_extraconfig(vm) == xml) continue;
    // "<label>:" on the first line names the entry (extraconfig-<label>), so setting it again
    // replaces ours and leaves the VM's other entries alone. The value is itself URL-encoded
    // (CloudStack URL-decodes extraconfig once more after the request's own decoding).
    try {
      client.call(
          "updateVirtualMachine",
          {{"id", id}, {"extraconfig", url_encode(std::string(kExtraConfigLabel) + ":\n" + xml)}});
      report.configured.push_back(id);
    } catch (const ApiError& e) {
      report.skipped.push_back(id + ": its KVM extraconfig could not be set: " + e.what());
    }
  }
}

}  // namespace vgpu::admin::cloudstack
