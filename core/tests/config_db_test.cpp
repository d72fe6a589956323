#include "config_db.hpp"

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
