#include "request_journal.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "test_dir.hpp"

using namespace vgpu::transports::file;
using namespace vgpu::transports::file::testing;

namespace {

struct Fixture {
  TestDir d;
  DirectoryLayout layout{d.str() + "/root", d.str() + "/root/.state", {}};
  VmDirectory vm;
  Fixture() {
    layout.prepare();
    vm = layout.open_vm(3);
  }
  std::filesystem::path root() const { return d.path() / "root"; }
};

}  // namespace

TEST(DirectoryLayout, CreatesThePrivateTree) {
  Fixture f;
  for (auto sub : {"vm3", "vm3/requests", "vm3/responses", "vm3/rejected"}) {
    auto st = std::filesystem::status(f.root() / sub);
    EXPECT_EQ(st.type(), std::filesystem::file_type::directory) << sub;
    EXPECT_EQ(st.permissions(), std::filesystem::perms::owner_all) << sub;
  }
  EXPECT_EQ(std::filesystem::status(f.root()).permissions(),
            std::filesystem::perms::owner_all | std::filesystem::perms::group_exec |
                std::filesystem::perms::others_exec);
  EXPECT_EQ(std::filesystem::status(f.root() / ".state").permissions(),
            std::filesystem::perms::owner_all);
  EXPECT_EQ(f.layout.vms_with_state(), std::vector<std::uint32_t>{3});
}

TEST(DirectoryLayout, CorrectsAModeSomeoneLoosened) {
  Fixture f;
  std::filesystem::permissions(f.root() / "vm3", std::filesystem::perms::all);
  f.layout.open_vm(3);
  EXPECT_EQ(std::filesystem::status(f.root() / "vm3").permissions(),
            std::filesystem::perms::owner_all);
}

TEST(DirectoryLayout, GivesEachVmItsOwnUid) {
  if (::geteuid() != 0) GTEST_SKIP() << "changing owners needs root";
  TestDir d;
  DirectoryLayout layout{d.str() + "/root", d.str() + "/root/.state", {40000, std::nullopt}};
  layout.prepare();
  layout.open_vm(5);
  struct stat st {};
  ASSERT_EQ(::stat((d.str() + "/root/vm5/requests").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 40005u);
  EXPECT_EQ(st.st_gid, 40005u);
}

TEST(RequestJournal, ClaimStartReleaseMovesOneFileThroughTheStages) {
  Fixture f;
  write_file(f.root() / "vm3/requests/a.req", "op=noop\nend\n");
  claim(f.vm, f.vm.requests.get(), "a.req", spool_key("a"));
  EXPECT_FALSE(std::filesystem::exists(f.root() / "vm3/requests/a.req"));
  auto claimed = list_claimed(f.vm);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].key, "s.a");
  EXPECT_EQ(claimed[0].stage, Stage::pending);
  mark_running(f.vm, "s.a");
  claimed = list_claimed(f.vm);
  ASSERT_EQ(claimed.size(), 1u);
  EXPECT_EQ(claimed[0].stage, Stage::running);
  release(f.vm, "s.a");
  EXPECT_TRUE(list_claimed(f.vm).empty());
}

TEST(RequestJournal, ListsOldestFirst) {
  Fixture f;
  for (auto name : {"late", "early"}) {
    write_file(f.root() / "vm3/requests" / (std::string(name) + ".req"), "x");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  claim(f.vm, f.vm.requests.get(), "early.req", spool_key("early"));
  claim(f.vm, f.vm.requests.get(), "late.req", spool_key("late"));
  auto claimed = list_claimed(f.vm);
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].key, "s.late");  // written first
  EXPECT_EQ(kind_of(compat_key(7)), RequestKind::compat);
  EXPECT_EQ(compat_key(7), "c.00000000000000000007");
  EXPECT_EQ(spool_name_of("s.late"), "late");
}

TEST(RequestJournal, MoveAsideKeepsEveryVersionWithItsReason) {
  Fixture f;
  for (int i = 0; i < 2; ++i) {
    write_file(f.root() / "vm3/requests/bad.req", "garbage " + std::to_string(i));
    EXPECT_EQ(
        move_aside(f.vm, f.vm.requests.get(), "bad.req", "bad.req", "reason " + std::to_string(i)),
        i == 0 ? "bad.req" : "bad.req.1");
  }
  EXPECT_EQ(read_file(f.root() / "vm3/rejected/bad.req"), "garbage 0");
  EXPECT_EQ(read_file(f.root() / "vm3/rejected/bad.req.1"), "garbage 1");
  EXPECT_EQ(read_file(f.root() / "vm3/rejected/bad.req.1.why"), "reason 1\n");
}
