#include "config_db.hpp"
#include "identity_directory.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "token.hpp"

using namespace vgpu::core;

class ConfigDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("vgpu-db-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = dir_ / "vgpu.db";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  VmRecord vm(std::string uuid, std::uint32_t id, std::string pool = "A", int priority = 1) {
    VmRecord r;
    r.uuid = std::move(uuid);
    r.name = "name-" + r.uuid;
    r.vm_id = id;
    r.pool = std::move(pool);
    r.priority = priority;
    return r;
  }

  std::filesystem::path dir_, path_;
};

TEST_F(ConfigDbTest, FreshDbHasSchemaDefaultPoolsAndWal) {
  auto db = ConfigDb::open(path_);
  EXPECT_EQ(db.schema_version(), ConfigDb::kSchemaVersion);
  auto pools = db.pools();
  ASSERT_EQ(pools.size(), 2u);
  EXPECT_EQ(pools[0].name, "A");
  EXPECT_EQ(pools[1].name, "B");
  EXPECT_TRUE(std::filesystem::exists(dir_ / "vgpu.db-wal"));
}

TEST_F(ConfigDbTest, InsertFindAndLowestFreeId) {
  auto db = ConfigDb::open(path_);
  EXPECT_EQ(db.lowest_free_vm_id(), 1u);
  db.insert_vm(vm("u1", 1));
  db.insert_vm(vm("u2", 2, "B", 2));
  db.insert_vm(vm("u4", 4));
  EXPECT_EQ(db.lowest_free_vm_id(), 3u);
  auto found = db.find_vm("name-u2");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->vm_id, 2u);
  EXPECT_EQ(found->pool, "B");
  EXPECT_EQ(found->priority, 2);
  EXPECT_FALSE(db.find_vm("nobody"));
  EXPECT_EQ(db.vms().size(), 3u);
}

TEST_F(ConfigDbTest, ConstraintsRefuseBadRows) {
  auto db = ConfigDb::open(path_);
  db.insert_vm(vm("u1", 1));
  EXPECT_THROW(db.insert_vm(vm("u2", 1)), DbError) << "duplicate vm_id";
  EXPECT_THROW(db.insert_vm(vm("u1", 2)), DbError) << "duplicate uuid";
  EXPECT_THROW(db.insert_vm(vm("u3", 3, "Z")), DbError) << "unknown pool";
  EXPECT_THROW(db.insert_vm(vm("u4", 4, "A", 3)), DbError) << "priority out of range";
  try {
    db.insert_vm(vm("u5", 5, "Nope"));
  } catch (const DbError& e) {
    EXPECT_NE(std::string(e.what()).find("FOREIGN KEY"), std::string::npos) << e.what();
  }
  EXPECT_EQ(db.vms().size(), 1u) << "nothing half-written";
}

TEST_F(ConfigDbTest, AmbiguousNameListsCandidates) {
  auto db = ConfigDb::open(path_);
  auto a = vm("u1", 1);
  auto b = vm("u2", 2);
  a.name = b.name = "web";
  db.insert_vm(a);
  db.insert_vm(b);
  try {
    db.find_vm("web");
    FAIL();
  } catch (const DbError& e) {
    EXPECT_NE(std::string(e.what()).find("u1"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("u2"), std::string::npos);
  }
}

TEST_F(ConfigDbTest, DataVersionSeesOtherConnectionsCommits) {
  auto watcher = ConfigDb::open(path_);
  const auto before = watcher.data_version();
  {
    auto writer = ConfigDb::open(path_);
    writer.insert_vm(vm("u1", 1));
  }
  EXPECT_NE(watcher.data_version(), before);
}

TEST_F(ConfigDbTest, TokensAreStoredHashed) {
  auto db = ConfigDb::open(path_);
  db.insert_vm(vm("u1", 1));
  const auto token = generate_token();
  EXPECT_EQ(token.size(), 32u);
  db.set_token_hash("u1", hash_token(token));
  auto stored = db.find_vm("u1")->token_hash;
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->find(token), std::string::npos) << "the secret itself is not stored";
  EXPECT_TRUE(token_matches(token, *stored));
  EXPECT_FALSE(token_matches(generate_token(), *stored));
}

TEST_F(ConfigDbTest, NewerSchemaIsRefused) {
  { auto db = ConfigDb::open(path_); }
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  try {
    ConfigDb::open(path_);
    FAIL();
  } catch (const DbError& e) {
    EXPECT_NE(std::string(e.what()).find("schema version 99 is newer"), std::string::npos)
        << e.what();
  }
}

TEST_F(ConfigDbTest, MissingDbWithoutCreateIsAnError) {
  EXPECT_THROW(ConfigDb::open(dir_ / "absent.db", false), DbError);
}

TEST_F(ConfigDbTest, AVersion1DbIsMigratedWithItsDataKept) {
  // A DB as schema version 1 left it, with a VM and a custom pool in it.
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &raw), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw, ConfigDb::migration_sql(0), nullptr, nullptr, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(raw,
                         "PRAGMA user_version = 1;"
                         "INSERT INTO pools (name, weight) VALUES ('gpu', 3);"
                         "INSERT INTO vms (vm_uuid, name, vm_id, pool, priority, memory_quota_mb)"
                         " VALUES ('u-1', 'web', 7, 'gpu', 2, 256);",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(raw);

  auto db = ConfigDb::open(path_);
  EXPECT_EQ(db.schema_version(), ConfigDb::kSchemaVersion);
  auto vm = db.find_vm("web");
  ASSERT_TRUE(vm);
  EXPECT_EQ(vm->vm_id, 7u);
  EXPECT_EQ(vm->pool, "gpu");
  EXPECT_EQ(vm->priority, 2);
  EXPECT_EQ(vm->memory_quota_mb, 256);
  EXPECT_FALSE(vm->applied_at) << "the new column starts empty";
  db.mark_applied("u-1");
  EXPECT_TRUE(db.find_vm("u-1")->applied_at);
  EXPECT_EQ(db.find_pool("gpu")->weight, 3.0);
  EXPECT_FALSE(vm->device) << "schema 3's pins start empty: VMs are placed by load";
  EXPECT_FALSE(db.find_pool("gpu")->device);
}

TEST_F(ConfigDbTest, DevicePinsPerVmAndPoolAreStoredAndChecked) {
  auto db = ConfigDb::open(path_);
  auto pinned = vm("u-1", 1, "B", 0);
  pinned.device = 1;
  db.insert_vm(pinned);
  db.insert_vm(vm("u-2", 2, "B", 2));
  db.insert_vm(vm("u-3", 3, "A", 1));
  db.set_pool_device("B", 0);
  EXPECT_EQ(db.find_vm("u-1")->device, 1);
  EXPECT_EQ(db.find_pool("B")->device, 0);
  EXPECT_THROW(db.set_pool_device("B", 64), DbError);
  EXPECT_THROW(db.set_pool_device("nope", 1), DbError);
  auto bad = *db.find_vm("u-2");
  bad.device = -1;
  EXPECT_THROW(db.update_vm(bad), DbError) << "the column's CHECK refuses it";

  // The VM's own pin wins over its pool's; a VM in an unpinned pool has none.
  IdentityDirectory directory;
  directory.load_from(db);
  EXPECT_EQ(directory.find(1)->device_pin->device, 1);
  EXPECT_EQ(directory.find(1)->device_pin->source, "vms.device");
  EXPECT_EQ(directory.find(2)->device_pin->device, 0);
  EXPECT_EQ(directory.find(2)->device_pin->source, "pools.device of pool B");
  EXPECT_FALSE(directory.find(3)->device_pin);
  db.set_pool_device("B", std::nullopt);
  directory.load_from(db);
  EXPECT_FALSE(directory.find(2)->device_pin);
}

TEST_F(ConfigDbTest, PoolsRefuseRemovalWhileUsedAndCountMembers) {
  auto db = ConfigDb::open(path_);
  db.insert_vm(vm("u-1", 1, "B", 0));
  db.insert_vm(vm("u-2", 2, "B", 2));
  db.create_pool({"C", 2, "spare"});
  EXPECT_THROW(db.create_pool({"C", 1, ""}), DbError);
  auto stats = db.pool_stats();
  ASSERT_EQ(stats.size(), 3u);
  EXPECT_EQ(stats[1].vms, 2u);
  EXPECT_EQ(stats[1].by_priority[0], 1u);
  EXPECT_EQ(stats[2].vms, 0u);
  EXPECT_THROW(db.remove_pool("B"), DbError);
  db.remove_pool("C");
  EXPECT_FALSE(db.find_pool("C"));
  auto moved = *db.find_vm("u-1");
  moved.pool = "A";
  moved.weight = 2;
  db.update_vm(moved);
  EXPECT_EQ(db.find_vm("u-1")->pool, "A");
  db.remove_vm("u-1");
  EXPECT_FALSE(db.find_vm("u-1"));
}
