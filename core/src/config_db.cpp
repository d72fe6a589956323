#include "config_db.hpp"

#include <chrono>
#include <thread>

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <utility>

namespace vgpu::core {
namespace {

// Forward migrations: entry i takes the schema from version i to i + 1.
const std::array<const char*, ConfigDb::kSchemaVersion> kMigrations = {R"sql(
CREATE TABLE pools (
  name        TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 16
                                      AND name NOT GLOB '*[^A-Za-z0-9_-]*'),
  weight      REAL NOT NULL DEFAULT 1 CHECK (weight > 0),
  description TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO pools (name, description) VALUES ('A', 'default pool A'), ('B', 'default pool B');
CREATE TABLE vms (
  vm_uuid     TEXT PRIMARY KEY CHECK (length(vm_uuid) > 0),
  name        TEXT NOT NULL DEFAULT '',
  vm_id       INTEGER NOT NULL UNIQUE CHECK (vm_id BETWEEN 1 AND 4294967295),
  pool        TEXT NOT NULL DEFAULT 'A' REFERENCES pools(name) ON UPDATE CASCADE ON DELETE RESTRICT,
  priority    INTEGER NOT NULL DEFAULT 1 CHECK (priority BETWEEN 0 AND 2),
  weight      REAL NOT NULL DEFAULT 1 CHECK (weight > 0),
  vsock_cid   INTEGER UNIQUE CHECK (vsock_cid IS NULL OR vsock_cid >= 3),
  token_hash  TEXT,
  max_queued  INTEGER CHECK (max_queued IS NULL OR max_queued > 0),
  memory_quota_mb INTEGER CHECK (memory_quota_mb IS NULL OR memory_quota_mb > 0),
  created_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
  updated_at  TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX vms_pool ON vms(pool);
CREATE INDEX vms_priority ON vms(priority);
CREATE INDEX vms_name ON vms(name);
)sql",
                                                                       R"sql(
ALTER TABLE vms ADD COLUMN applied_at TEXT;
)sql",
                                                                       R"sql(
ALTER TABLE vms ADD COLUMN device INTEGER CHECK (device IS NULL OR device BETWEEN 0 AND 63);
ALTER TABLE pools ADD COLUMN device INTEGER CHECK (device IS NULL OR device BETWEEN 0 AND 63);
)sql",
                                                                       R"sql(
ALTER TABLE vms ADD COLUMN managed_by TEXT CHECK (managed_by IS NULL OR length(managed_by) BETWEEN 1 AND 32);
)sql"};

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) : db_(db) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK)
      throw DbUnavailable(std::string("SQL error: ") + sqlite3_errmsg(db));
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement& bind(int i, const std::string& v) {
    sqlite3_bind_text(stmt_, i, v.c_str(), -1, SQLITE_TRANSIENT);
    return *this;
  }
  Statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Statement& bind(int i, double v) {
    sqlite3_bind_double(stmt_, i, v);
    return *this;
  }
  template <typename T>
  Statement& bind(int i, const std::optional<T>& v) {
    if (v) return bind(i, *v);
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // True while there is a row.
  bool step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT ||
        rc == SQLITE_READONLY || rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN)
      throw DbUnavailable(describe(rc));
    throw DbError(describe(rc));
  }
  std::string text(int col) const {
    auto p = sqlite3_column_text(stmt_, col);
    return p ? reinterpret_cast<const char*>(p) : "";
  }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  bool null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  std::string describe(int rc) const {
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
      return "the config DB is locked by another program (gave up after the busy timeout)";
    return std::string("config DB error: ") + sqlite3_errmsg(db_);
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

VmRecord read_vm(const Statement& s) {
  VmRecord vm;
  vm.uuid = s.text(0);
  vm.name = s.text(1);
  vm.vm_id = static_cast<std::uint32_t>(s.integer(2));
  vm.pool = s.text(3);
  vm.priority = static_cast<int>(s.integer(4));
  vm.weight = s.real(5);
  if (!s.null(6)) vm.vsock_cid = static_cast<std::uint32_t>(s.integer(6));
  if (!s.null(7)) vm.token_hash = s.text(7);
  if (!s.null(8)) vm.max_queued = s.integer(8);
  if (!s.null(9)) vm.memory_quota_mb = s.integer(9);
  if (!s.null(10)) vm.applied_at = s.text(10);
  vm.updated_at = s.text(11);
  if (!s.null(12)) vm.device = s.integer(12);
  if (!s.null(13)) vm.managed_by = s.text(13);
  return vm;
}

constexpr const char* kVmColumns =
    "SELECT vm_uuid, name, vm_id, pool, priority, weight, vsock_cid, token_hash, max_queued, "
    "memory_quota_mb, applied_at, updated_at, device, managed_by FROM vms ";

PoolRecord read_pool(const Statement& s) {
  PoolRecord pool{s.text(0), s.real(1), s.text(2)};
  if (!s.null(3)) pool.device = s.integer(3);
  return pool;
}

constexpr const char* kPoolColumns = "SELECT name, weight, description, device FROM pools ";

}  // namespace

ConfigDb ConfigDb::open(const std::filesystem::path& path, bool create_if_missing) {
  sqlite3* db = nullptr;
  const int flags =
      SQLITE_OPEN_READWRITE | (create_if_missing ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw DbUnavailable(path.string() + ": cannot open the config DB: " + msg);
  }
  ConfigDb out(db, path);
  // The admin tool and the mediator use the file together: WAL lets readers run during a write,
  // and the busy timeout makes a writer wait instead of failing at once.
  sqlite3_busy_timeout(db, 5000);
  try {
    out.exec("PRAGMA foreign_keys = ON");
    // Switching a new file to WAL needs it alone; a second program opening it at the same
    // moment gets SQLITE_BUSY without the busy handler: try again briefly.
    for (int attempt = 1;; ++attempt) {
      try {
        out.exec("PRAGMA journal_mode = WAL");
        break;
      } catch (const DbError&) {
        if (attempt == 50) throw;
        std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
      }
    }
    out.migrate();
  } catch (const DbError& e) {
    throw DbUnavailable(path.string() + ": " + e.what());
  }
  return out;
}

ConfigDb::ConfigDb(ConfigDb&& other) noexcept
    : db_(std::exchange(other.db_, nullptr)), path_(std::move(other.path_)) {}

ConfigDb::~ConfigDb() {
  if (db_) sqlite3_close(db_);
}

void ConfigDb::exec(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string msg = error ? error : "unknown error";
    sqlite3_free(error);
    throw DbError(msg);
  }
}

int ConfigDb::schema_version() {
  Statement s(db_, "PRAGMA user_version");
  s.step();
  return static_cast<int>(s.integer(0));
}

void ConfigDb::migrate() {
  auto check = [](int version) {
    if (version > kSchemaVersion)
      throw DbError("schema version " + std::to_string(version) +
                    " is newer than this program understands (" + std::to_string(kSchemaVersion) +
                    "): upgrade vgpu");
  };
  check(schema_version());
  if (schema_version() == kSchemaVersion) return;
  // Another program may open the same new file at the same moment: the version is read again
  // inside the write transaction, so each migration runs once, whoever gets there first.
  write_transaction([&] {
    const int version = schema_version();
    check(version);
    for (int v = version; v < kSchemaVersion; ++v) {
      exec(kMigrations[v]);
      exec("PRAGMA user_version = " + std::to_string(v + 1));
    }
  });
}

void ConfigDb::write_transaction(const std::function<void()>& work) {
  // The busy timeout already waits 5 s for the lock; a few more tries ride out a burst of
  // writers without failing any of them.
  for (int attempt = 1;; ++attempt) {
    try {
      exec("BEGIN IMMEDIATE");
      break;
    } catch (const DbError&) {
      if (attempt == 6) throw;
    }
  }
  try {
    work();
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::int64_t ConfigDb::data_version() {
  Statement s(db_, "PRAGMA data_version");
  s.step();
  return s.integer(0);
}

std::vector<PoolRecord> ConfigDb::pools() {
  Statement s(db_, std::string(kPoolColumns) + "ORDER BY name");
  std::vector<PoolRecord> out;
  while (s.step()) out.push_back(read_pool(s));
  return out;
}

std::vector<VmRecord> ConfigDb::vms() {
  Statement s(db_, std::string(kVmColumns) + "ORDER BY vm_id");
  std::vector<VmRecord> out;
  while (s.step()) out.push_back(read_vm(s));
  return out;
}

std::optional<VmRecord> ConfigDb::find_vm(const std::string& uuid_or_name) {
  Statement s(db_, std::string(kVmColumns) + "WHERE vm_uuid = ?1 OR name = ?1 ORDER BY vm_id");
  s.bind(1, uuid_or_name);
  std::vector<VmRecord> found;
  while (s.step()) found.push_back(read_vm(s));
  if (found.empty()) return std::nullopt;
  for (const auto& vm : found)
    if (vm.uuid == uuid_or_name) return vm;
  if (found.size() > 1) {
    std::string list;
    for (const auto& vm : found) list += " " + vm.uuid;
    throw DbError("the name '" + uuid_or_name + "' is ambiguous; use a UUID:" + list);
  }
  return found.front();
}

std::uint32_t ConfigDb::lowest_free_vm_id() {
  Statement s(db_,
              "SELECT COALESCE((SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM vms WHERE vm_id = 1)),"
              " (SELECT MIN(vm_id) + 1 FROM vms v WHERE NOT EXISTS"
              " (SELECT 1 FROM vms w WHERE w.vm_id = v.vm_id + 1)))");
  s.step();
  return static_cast<std::uint32_t>(s.integer(0));
}

void ConfigDb::insert_vm(const VmRecord& vm) {
  Statement s(db_,
              "INSERT INTO vms (vm_uuid, name, vm_id, pool, priority, weight, vsock_cid,"
              " token_hash, max_queued, memory_quota_mb, device, managed_by)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
  s.bind(1, vm.uuid).bind(2, vm.name).bind(3, std::int64_t(vm.vm_id)).bind(4, vm.pool);
  s.bind(5, std::int64_t(vm.priority)).bind(6, vm.weight);
  s.bind(7, vm.vsock_cid ? std::optional<std::int64_t>(*vm.vsock_cid) : std::nullopt);
  s.bind(8, vm.token_hash).bind(9, vm.max_queued).bind(10, vm.memory_quota_mb);
  s.bind(11, vm.device).bind(12, vm.managed_by);
  try {
    s.step();
  } catch (const DbUnavailable&) {
    throw;
  } catch (const DbError& e) {
    throw DbError("cannot register VM '" + vm.uuid + "': " + e.what());
  }
}

void ConfigDb::set_token_hash(const std::string& uuid, const std::string& hash) {
  Statement s(db_,
              "UPDATE vms SET token_hash = ?2, updated_at = CURRENT_TIMESTAMP WHERE vm_uuid = ?1");
  s.bind(1, uuid).bind(2, hash);
  s.step();
  if (sqlite3_changes(db_) != 1) throw DbError("no VM with UUID '" + uuid + "'");
}

void ConfigDb::set_priority(const std::string& uuid, int priority) {
  Statement s(db_,
              "UPDATE vms SET priority = ?2, updated_at = CURRENT_TIMESTAMP WHERE vm_uuid = ?1");
  s.bind(1, uuid).bind(2, std::int64_t(priority));
  s.step();
  if (sqlite3_changes(db_) != 1) throw DbError("no VM with UUID '" + uuid + "'");
}

}  // namespace vgpu::core

namespace vgpu::core {

const char* ConfigDb::migration_sql(int version) {
  if (version < 0 || version >= kSchemaVersion)
    throw DbError("no migration from version " + std::to_string(version));
  return kMigrations[version];
}

void ConfigDb::update_vm(const VmRecord& vm) {
  Statement s(db_,
              "UPDATE vms SET name = ?2, vm_id = ?3, pool = ?4, priority = ?5, weight = ?6,"
              " vsock_cid = ?7, max_queued = ?8, memory_quota_mb = ?9, device = ?10,"
              " managed_by = ?11, updated_at = CURRENT_TIMESTAMP WHERE vm_uuid = ?1");
  s.bind(1, vm.uuid).bind(2, vm.name).bind(3, std::int64_t(vm.vm_id)).bind(4, vm.pool);
  s.bind(5, std::int64_t(vm.priority)).bind(6, vm.weight);
  s.bind(7, vm.vsock_cid ? std::optional<std::int64_t>(*vm.vsock_cid) : std::nullopt);
  s.bind(8, vm.max_queued).bind(9, vm.memory_quota_mb).bind(10, vm.device);
  s.bind(11, vm.managed_by);
  try {
    s.step();
  } catch (const DbUnavailable&) {
    throw;
  } catch (const DbError& e) {
    throw DbError("cannot update VM '" + vm.uuid + "': " + e.what());
  }
  if (sqlite3_changes(db_) != 1) throw DbError("no VM with UUID '" + vm.uuid + "'");
}

void ConfigDb::remove_vm(const std::string& uuid) {
  Statement s(db_, "DELETE FROM vms WHERE vm_uuid = ?1");
  s.bind(1, uuid);
  s.step();
  if (sqlite3_changes(db_) != 1) throw DbError("no VM with UUID '" + uuid + "'");
}

void ConfigDb::mark_applied(const std::string& uuid) {
  Statement s(db_, "UPDATE vms SET applied_at = CURRENT_TIMESTAMP WHERE vm_uuid = ?1");
  s.bind(1, uuid);
  s.step();
}

std::optional<PoolRecord> ConfigDb::find_pool(const std::string& name) {
  Statement s(db_, std::string(kPoolColumns) + "WHERE name = ?1");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return read_pool(s);
}

void ConfigDb::create_pool(const PoolRecord& pool) {
  Statement s(db_, "INSERT INTO pools (name, weight, description, device) VALUES (?1, ?2, ?3, ?4)");
  s.bind(1, pool.name).bind(2, pool.weight).bind(3, pool.description).bind(4, pool.device);
  try {
    s.step();
  } catch (const DbUnavailable&) {
    throw;
  } catch (const DbError& e) {
    if (find_pool(pool.name)) throw DbError("pool '" + pool.name + "' already exists");
    throw DbError("cannot create pool '" + pool.name +
                  "': names are 1 to 16 of A-Z a-z 0-9 _ - and the weight must be > 0 (" +
                  e.what() + ")");
  }
}

void ConfigDb::remove_pool(const std::string& name) {
  if (!find_pool(name)) throw DbError("no pool named '" + name + "'");
  for (const auto& stats : pool_stats())
    if (stats.pool == name && stats.vms > 0)
      throw DbError("pool '" + name + "' still has " + std::to_string(stats.vms) +
                    " VM(s); move them with set-pool first");
  Statement s(db_, "DELETE FROM pools WHERE name = ?1");
  s.bind(1, name);
  s.step();
}

void ConfigDb::set_pool_weight(const std::string& name, double weight) {
  if (!(weight > 0)) throw DbError("a pool weight must be > 0");
  Statement s(db_, "UPDATE pools SET weight = ?2, updated_at = CURRENT_TIMESTAMP WHERE name = ?1");
  s.bind(1, name).bind(2, weight);
  s.step();
  if (sqlite3_changes(db_) != 1) throw DbError("no pool named '" + name + "'");
}

void ConfigDb::set_pool_device(const std::string& name, std::optional<std::int64_t> device) {
  if (device && (*device < 0 || *device > 63))
    throw DbError("a device number is 0 to 63, not " + std::to_string(*device));
  Statement s(db_, "UPDATE pools SET device = ?2, updated_at = CURRENT_TIMESTAMP WHERE name = ?1");
  s.bind(1, name).bind(2, device);
  s.step();
  if (sqlite3_changes(db_) != 1) throw DbError("no pool named '" + name + "'");
}

std::vector<PoolStats> ConfigDb::pool_stats() {
  Statement s(db_,
              "SELECT p.name, v.priority, COUNT(v.vm_uuid) FROM pools p LEFT JOIN vms v"
              " ON v.pool = p.name GROUP BY p.name, v.priority ORDER BY p.name");
  std::vector<PoolStats> out;
  while (s.step()) {
    if (out.empty() || out.back().pool != s.text(0)) out.push_back({s.text(0)});
    if (s.null(1)) continue;
    const auto count = static_cast<std::size_t>(s.integer(2));
    out.back().vms += count;
    out.back().by_priority[std::clamp<std::int64_t>(s.integer(1), 0, 2)] += count;
  }
  return out;
}

}  // namespace vgpu::core
