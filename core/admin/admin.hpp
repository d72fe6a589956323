// What every vgpu-admin command shares: the DB, output mode, confirmation, and the error types
// that map onto the exit codes scripts rely on (docs/admin.md).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "config_db.hpp"

namespace vgpu::admin {

enum ExitCode : int {
  kOk = 0,
  kRefused = 1,        // bad input, unknown VM or pool, conflict, confirmation declined
  kUsage = 2,          // the command line itself (CLI11)
  kDbUnavailable = 3,  // cannot open, locked, or a newer schema
  kHypervisorFailed = 4,
  kCloudStackUnavailable = 5,  // cloudstack sync: the API could not be read
};

// A refused request: one line on stderr, exit 1, nothing changed.
class Refused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Admin {
  core::ConfigDb& db;
  bool json = false;
  bool yes = false;
  std::string hypervisor = "auto";
  std::string admin_socket;

  // Asks on the terminal unless --yes; without a terminal it refuses (scripts pass --yes).
  void confirm(const std::string& consequence) const;
  core::VmRecord require_vm(const std::string& uuid_or_name) const;
  void require_pool(const std::string& pool) const;
};

int parse_priority(const std::string& text);
// A weight (VM or pool) must be a finite number in (0, 1e6]; Refused naming `what` otherwise.
double check_weight(double weight, const std::string& what);
// A device pin as typed: 0 to 63, or "none" (nothing: placed by load). Refused otherwise.
std::optional<std::int64_t> parse_device(const std::string& text);
// A VM or pool name: 1 to 64 printable ASCII characters, no spaces or control characters (names
// reach logs, tables and the guest's HELLO_OK). Refused naming the first bad character otherwise.
void check_name(const std::string& name, const std::string& what);
nlohmann::json vm_json(const core::VmRecord& vm);

}  // namespace vgpu::admin
