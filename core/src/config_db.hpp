// The SQLite config DB: the single source of truth for pools and VMs (schema: docs/config-db.md).
// One object per connection; not shared between threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace vgpu::core {

class DbError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The DB itself cannot be used: unreadable, locked past the busy timeout, or a newer schema.
// (A DbError is a refused change: unknown VM, duplicate vm_id, a constraint.)
class DbUnavailable : public DbError {
 public:
  using DbError::DbError;
};

struct PoolRecord {
  std::string name;
  double weight = 1.0;
  std::string description;
  // The device its VMs' jobs run on when the mediator drives several (schema 3); none: placed
  // by load.
  std::optional<std::int64_t> device;
};

struct VmRecord {
  std::string uuid;
  std::string name;
  std::uint32_t vm_id = 0;
  std::string pool = "A";
  int priority = 1;
  double weight = 1.0;
  std::optional<std::uint32_t> vsock_cid;
  std::optional<std::string> token_hash;
  std::optional<std::int64_t> max_queued;
  std::optional<std::int64_t> memory_quota_mb;
  std::optional<std::string> applied_at;  // when `vgpu-admin apply` last pushed it (schema 2)
  std::optional<std::int64_t> device;     // pins its jobs to this device, over its pool's (3)
  // Who keeps this row in step with another system ("cloudstack"), which may then change and
  // remove it; none: the operator alone (schema 4).
  std::optional<std::string> managed_by;
  std::string updated_at;
};

struct PoolStats {
  std::string pool;
  std::size_t vms = 0;
  std::size_t by_priority[3] = {};
};

class ConfigDb {
 public:
  static constexpr int kSchemaVersion = 4;
  // The SQL that takes the schema from `version` to `version + 1` (for migration tests).
  static const char* migration_sql(int version);

  // Opens (creating when allowed) and migrates to kSchemaVersion. A DB written by a newer
  // program is refused rather than misread.
  static ConfigDb open(const std::filesystem::path& path, bool create_if_missing = true);
  ConfigDb(ConfigDb&& other) noexcept;
  ConfigDb& operator=(ConfigDb&&) = delete;
  ~ConfigDb();

  int schema_version();
  // Changes whenever another connection commits: cheap change detection for reloads.
  std::int64_t data_version();

  std::vector<PoolRecord> pools();
  std::vector<VmRecord> vms();
  std::optional<VmRecord> find_vm(const std::string& uuid_or_name);
  std::uint32_t lowest_free_vm_id();
  // Runs `work` in one write transaction (BEGIN IMMEDIATE): other writers wait (busy timeout,
  // then a few more tries) rather than fail, and read-check-write sequences cannot interleave.
  // Commits when `work` returns, rolls back and rethrows when it throws.
  void write_transaction(const std::function<void()>& work);
  void insert_vm(const VmRecord& vm);
  void set_token_hash(const std::string& uuid, const std::string& hash);
  void set_priority(const std::string& uuid, int priority);
  // Writes every settable field of `vm` (found by its uuid) in one statement.
  void update_vm(const VmRecord& vm);
  void remove_vm(const std::string& uuid);
  void mark_applied(const std::string& uuid);
  std::optional<PoolRecord> find_pool(const std::string& name);
  void create_pool(const PoolRecord& pool);
  void remove_pool(const std::string& name);  // refused while VMs use it
  void set_pool_weight(const std::string& name, double weight);
  // Pins the pool's VMs to a device (0..63), or, with nothing, lets the mediator place them.
  void set_pool_device(const std::string& name, std::optional<std::int64_t> device);
  std::vector<PoolStats> pool_stats();

  const std::filesystem::path& path() const { return path_; }

 private:
  ConfigDb(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  void exec(const std::string& sql);
  void migrate();

  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

}  // namespace vgpu::core
