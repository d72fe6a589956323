#include "safe_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace vgpu::transports::file {

namespace {

[[noreturn]] void fail(const std::string& what, const std::string& shown) {
  const int code = errno;
  throw FsError(code, what + " " + shown + ": " + std::strerror(code));
}

// Opens a regular file for reading and checks it is one: O_NOFOLLOW refuses a symlink, the link
// count refuses a hard link to a file outside the guest's directory.
Fd open_regular(int dir, const std::string& name, std::size_t limit, const std::string& shown,
                std::size_t& size) {
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) {
    if (errno == ELOOP) throw FsError(ELOOP, shown + " is a symbolic link; refused");
    fail("cannot open", shown);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("cannot stat", shown);
  if (!S_ISREG(st.st_mode)) throw FsError(EINVAL, shown + " is not a regular file");
  if (st.st_nlink != 1) throw FsError(EINVAL, shown + " has other hard links; refused");
  size = static_cast<std::size_t>(st.st_size);
  if (size > limit)
    throw FsError(EFBIG, shown + " is " + std::to_string(size) + " bytes, more than the " +
                             std::to_string(limit) + " allowed");
  return fd;
}

void read_fully(int fd, void* data, std::size_t size, const std::string& shown) {
  auto* p = static_cast<char*>(data);
  std::size_t done = 0;
  while (done < size) {
    const auto n = ::read(fd, p + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read", shown);
    if (n == 0) throw FsError(EIO, shown + " shrank while it was read");
    done += static_cast<std::size_t>(n);
  }
}

std::string temp_name(const std::string& name) {
  static std::atomic<unsigned> counter{0};
  return "." + name + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
}

}  // namespace

FsError::FsError(int code, const std::string& what) : std::runtime_error(what), code_(code) {}

Fd& Fd::operator=(Fd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

Fd::~Fd() {
  if (fd_ >= 0) ::close(fd_);
}

int Fd::release() {
  const int fd = fd_;
  fd_ = -1;
  return fd;
}

Fd open_directory(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) fail("cannot open directory", path);
  return fd;
}

Fd open_directory_at(int dir, const std::string& name) {
  Fd fd(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) fail("cannot open directory", name);
  return fd;
}

void make_directory_at(int dir, const std::string& name, mode_t mode) {
  if (::mkdirat(dir, name.c_str(), mode) == 0) return;
  if (errno != EEXIST) fail("cannot create directory", name);
  auto st = stat_at(dir, name);
  if (!st || !S_ISDIR(st->st_mode)) throw FsError(ENOTDIR, name + " exists and is not a directory");
}

std::optional<struct stat> stat_at(int dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return std::nullopt;
  return st;
}

std::string read_text_at(int dir, const std::string& name, std::size_t limit,
                         const std::string& shown) {
  std::size_t size = 0;
  Fd fd = open_regular(dir, name, limit, shown, size);
  std::string text(size, '\0');
  read_fully(fd.get(), text.data(), size, shown);
  return text;
}

std::string read_tail_at(int dir, const std::string& name, std::size_t n,
                         const std::string& shown) {
  std::size_t size = 0;
  Fd fd = open_regular(dir, name, SIZE_MAX, shown, size);
  const std::size_t take = std::min(n, size);
  std::string tail(take, '\0');
  if (take && ::lseek(fd.get(), static_cast<off_t>(size - take), SEEK_SET) < 0)
    fail("cannot seek in", shown);
  read_fully(fd.get(), tail.data(), take, shown);
  return tail;
}

sdk::Buffer read_bytes_at(int dir, const std::string& name, std::size_t limit,
                          const std::string& shown) {
  std::size_t size = 0;
  Fd fd = open_regular(dir, name, limit, shown, size);
  sdk::Buffer bytes(size);
  read_fully(fd.get(), bytes.data(), size, shown);
  return bytes;
}

void write_atomically_at(int dir, const std::string& name, const std::vector<ByteSpan>& parts,
                         bool sync, const std::string& shown) {
  const std::string temp = temp_name(name);
  // O_EXCL: a name a guest planted (even a dangling symlink) makes this fail, never redirects it.
  Fd fd(::openat(dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!fd) fail("cannot create", shown);
  try {
    for (const auto& part : parts) {
      const auto* p = static_cast<const char*>(part.data);
      std::size_t done = 0;
      while (done < part.size) {
        const auto n = ::write(fd.get(), p + done, part.size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail("cannot write", shown);
        done += static_cast<std::size_t>(n);
      }
    }
    if (sync && ::fsync(fd.get()) != 0) fail("cannot sync", shown);
    if (::close(fd.release()) != 0) fail("cannot write", shown);
    if (::renameat(dir, temp.c_str(), dir, name.c_str()) != 0) fail("cannot rename into", shown);
    if (sync) ::fsync(dir);
  } catch (...) {
    ::unlinkat(dir, temp.c_str(), 0);
    throw;
  }
}

void write_text_atomically_at(int dir, const std::string& name, const std::string& text, bool sync,
                              const std::string& shown) {
  write_atomically_at(dir, name, {{text.data(), text.size()}}, sync, shown);
}

void rename_at(int from_dir, const std::string& from, int to_dir, const std::string& to,
               const std::string& shown) {
  if (::renameat(from_dir, from.c_str(), to_dir, to.c_str()) != 0) fail("cannot move", shown);
}

void remove_at(int dir, const std::string& name) {
  ::unlinkat(dir, name.c_str(), 0);
}

std::vector<std::string> list_directory(int dir) {
  std::vector<std::string> names;
  Fd copy(::dup(dir));
  if (!copy) return names;
  DIR* d = ::fdopendir(copy.release());
  if (!d) return names;
  ::rewinddir(d);
  while (auto* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  ::closedir(d);
  return names;
}

}  // namespace vgpu::transports::file
