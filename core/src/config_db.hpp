// The SQLite config DB: the single source of truth for pools and VMs (schema: docs/config-db.md).
// One object per connection; not shared between threads.
#pragma once

#include <cstdint>
#include <filesystem>
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

struct PoolRecord {
  std::string name;
  double weight = 1.0;
  std::string description;
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
};

class ConfigDb {
 public:
  static constexpr int kSchemaVersion = 1;

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
  void insert_vm(const VmRecord& vm);
  void set_token_hash(const std::string& uuid, const std::string& hash);
  void set_priority(const std::string& uuid, int priority);

  const std::filesystem::path& path() const { return path_; }

 private:
  ConfigDb(sqlite3* db, std::filesystem::path path) : db_(db), path_(std::move(path)) {}
  void exec(const std::string& sql);
  void migrate();

  sqlite3* db_ = nullptr;
  std::filesystem::path path_;
};

}  // namespace vgpu::core
