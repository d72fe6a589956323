#include "safe_fs.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "test_dir.hpp"

using namespace vgpu::transports::file;
using namespace vgpu::transports::file::testing;

namespace {

std::string refusal(auto&& f) {
  try {
    f();
  } catch (const FsError& e) {
    return e.what();
  }
  return "accepted";
}

}  // namespace

TEST(SafeFs, ReadsRegularFilesWithinTheLimit) {
  TestDir d;
  write_file(d.path() / "a.txt", "hello");
  Fd dir = open_directory(d.str());
  EXPECT_EQ(read_text_at(dir.get(), "a.txt", 5, "a.txt"), "hello");
  EXPECT_NE(refusal([&] {
              read_text_at(dir.get(), "a.txt", 4, "a.txt");
            }).find("a.txt is 5 bytes, more than the 4 allowed"),
            std::string::npos);
}

TEST(SafeFs, RefusesLinksAGuestCouldPlant) {
  TestDir d;
  write_file(d.path() / "secret", "host only");
  std::filesystem::create_symlink(d.path() / "secret", d.path() / "sym");
  std::filesystem::create_hard_link(d.path() / "secret", d.path() / "hard");
  std::filesystem::create_directory(d.path() / "real");
  std::filesystem::create_directory_symlink(d.path() / "real", d.path() / "dirlink");
  Fd dir = open_directory(d.str());
  EXPECT_NE(refusal([&] { read_text_at(dir.get(), "sym", 100, "sym"); }).find("symbolic link"),
            std::string::npos);
  EXPECT_NE(refusal([&] { read_text_at(dir.get(), "hard", 100, "hard"); }).find("hard links"),
            std::string::npos);
  EXPECT_NE(refusal([&] { open_directory_at(dir.get(), "dirlink"); }), "accepted");
  EXPECT_NO_THROW(open_directory_at(dir.get(), "real"));
}

TEST(SafeFs, AtomicWriteReplacesWholeAndNeverFollowsAPlantedLink) {
  TestDir d;
  write_file(d.path() / "target", "untouched");
  std::filesystem::create_symlink(d.path() / "target", d.path() / "out.txt");
  Fd dir = open_directory(d.str());
  write_text_atomically_at(dir.get(), "out.txt", "new", true, "out.txt");
  EXPECT_FALSE(std::filesystem::is_symlink(d.path() / "out.txt"));
  EXPECT_EQ(read_file(d.path() / "out.txt"), "new");
  EXPECT_EQ(read_file(d.path() / "target"), "untouched");
  // No temp files stay behind.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d.path()), {}), 2);
}

TEST(SafeFs, AFullDiskIsReportedAsSuchAndLeavesNoTempFile) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small tmpfs needs root";
  TestDir d;
  if (::mount("tmpfs", d.str().c_str(), "tmpfs", 0, "size=64k") != 0)
    GTEST_SKIP() << "cannot mount a tmpfs here: " << std::strerror(errno);
  Fd dir = open_directory(d.str());
  std::vector<char> big(256 * 1024, 'x');
  try {
    write_atomically_at(dir.get(), "big", {{big.data(), big.size()}}, false, "big");
    ADD_FAILURE() << "a 256 KiB write fitted in a 64 KiB filesystem";
  } catch (const FsError& e) {
    EXPECT_EQ(e.code(), ENOSPC) << e.what();
    EXPECT_NE(std::string(e.what()).find("No space left"), std::string::npos);
  }
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(d.path()), {}), 0);
  dir = Fd();
  ::umount(d.str().c_str());
}
