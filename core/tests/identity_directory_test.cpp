#include "identity_directory.hpp"

#include <gtest/gtest.h>

#include "token.hpp"

using namespace vgpu::core;
using vgpu::sdk::PeerIdentity;
using vgpu::sdk::Status;

class IdentityDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ =
        std::filesystem::temp_directory_path() / ("vgpu-id-" + std::to_string(::getpid()) + ".db");
    std::filesystem::remove(path_);
    db_.emplace(ConfigDb::open(path_));
    VmRecord a;
    a.uuid = "ua";
    a.vm_id = 1;
    a.pool = "A";
    a.priority = 2;
    a.token_hash = hash_token(token_);
    a.vsock_cid = 7;
    db_->insert_vm(a);
    VmRecord b;
    b.uuid = "ub";
    b.vm_id = 2;
    b.pool = "B";
    b.priority = 0;
    db_->insert_vm(b);
    dir_.load_from(*db_);
  }
  void TearDown() override {
    db_.reset();
    for (auto suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
  }
  PeerIdentity tcp(std::uint32_t vm_id, std::string token) {
    PeerIdentity p;
    p.transport = "tcp";
    p.vm_id = vm_id;
    p.token = std::move(token);
    return p;
  }

  std::string token_ = generate_token();
  std::filesystem::path path_;
  std::optional<ConfigDb> db_;
  IdentityDirectory dir_;
};

TEST_F(IdentityDirectoryTest, RightTokenGivesTheDbIdentity) {
  auto out = dir_.authenticate(tcp(1, token_));
  ASSERT_EQ(out.status, Status::ok) << out.message;
  EXPECT_EQ(out.tenant.vm_id, 1u);
  EXPECT_EQ(out.tenant.pool, "A");
  EXPECT_EQ(out.tenant.priority, 2);
}

TEST_F(IdentityDirectoryTest, WrongMissingTokenAndUnknownVmAreRefusedAlike) {
  // The guest hears the same for each, so it cannot tell which vm_ids exist; the detail (for
  // the host's log) says which it was.
  std::string why;
  auto wrong = dir_.authenticate(tcp(1, generate_token()), false, &why);
  EXPECT_EQ(wrong.status, Status::unauthenticated);
  EXPECT_EQ(why, "wrong token for vm_id 1");
  auto missing = dir_.authenticate(tcp(1, ""), false, &why);
  EXPECT_EQ(why, "vm_id 1 requires a token");
  auto unknown1 = dir_.authenticate(tcp(9, ""), false, &why);
  EXPECT_NE(why.find("unknown vm_id 9"), std::string::npos) << why;
  EXPECT_EQ(unknown1.status, Status::unauthenticated);
  EXPECT_EQ(wrong.message, missing.message);
  auto other = dir_.authenticate(tcp(9, generate_token()));
  EXPECT_EQ(other.message, unknown1.message);
  EXPECT_EQ(other.message.find("unknown vm_id"), std::string::npos) << other.message;
}

TEST_F(IdentityDirectoryTest, RequireTokensRefusesAVmWithoutOneUnlessTheTransportProvesIt) {
  std::string why;
  auto out = dir_.authenticate(tcp(2, ""), true, &why);
  EXPECT_EQ(out.status, Status::unauthenticated);
  EXPECT_NE(why.find("require_tokens"), std::string::npos) << why;
  auto by_directory = tcp(2, "");
  by_directory.proof = vgpu::sdk::PeerIdentity::Proof::vm_id;
  EXPECT_EQ(dir_.authenticate(by_directory, true).status, Status::ok);
  EXPECT_EQ(dir_.authenticate(tcp(1, token_), true).status, Status::ok);
}

TEST_F(IdentityDirectoryTest, VmWithoutTokenIsAcceptedByIdOnly) {
  auto out = dir_.authenticate(tcp(2, ""));
  EXPECT_EQ(out.status, Status::ok);
  EXPECT_EQ(out.tenant.pool, "B");
}

TEST_F(IdentityDirectoryTest, BoundAddressDecidesAndHelloMustAgree) {
  auto p = tcp(0, "");
  p.proof = vgpu::sdk::PeerIdentity::Proof::bound_address;
  p.bound_address = "vsock-cid:7";
  EXPECT_EQ(dir_.authenticate(p, true).tenant.vm_id, 1u) << "no token needed";
  p.vm_id = 2;
  EXPECT_NE(dir_.authenticate(p).message.find("belongs to vm_id 1"), std::string::npos);
  p.bound_address = "vsock-cid:99";
  EXPECT_NE(dir_.authenticate(p).message.find("vsock-cid:99 belongs to no registered VM"),
            std::string::npos);
  // An address of a kind the DB does not record proves nothing.
  p.vm_id = 1;
  p.bound_address = "xen-domid:7";
  EXPECT_EQ(dir_.authenticate(p).status, Status::unauthenticated);
}

TEST_F(IdentityDirectoryTest, ReloadSeesPriorityChanges) {
  db_->set_priority("ub", 2);
  EXPECT_EQ(dir_.find(2)->tenant.priority, 0) << "snapshot unchanged until reload";
  dir_.load_from(*db_);
  EXPECT_EQ(dir_.find(2)->tenant.priority, 2);
}
