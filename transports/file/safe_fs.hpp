// File operations relative to directory descriptors that never follow a link a guest planted:
// the mediator runs as root inside directories guests can write, so every open refuses
// symbolic links, and every path is one plain name below a directory it opened itself.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "vgpu/sdk/job.hpp"

namespace vgpu::transports::file {

// A failed system call; `code` is the errno (ENOSPC tells a full disk).
class FsError : public std::runtime_error {
 public:
  FsError(int code, const std::string& what);
  int code() const { return code_; }

 private:
  int code_;
};

// Owns one file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.release()) {}
  Fd& operator=(Fd&& other) noexcept;
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd();
  int get() const { return fd_; }
  int release();
  explicit operator bool() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Opens an absolute directory path (the configured root), following nothing below it later.
Fd open_directory(const std::string& path);
// Opens `name` below `dir` as a directory; a symbolic link there is refused.
Fd open_directory_at(int dir, const std::string& name);
// Creates `name` below `dir` unless it exists (then it must be a real directory).
void make_directory_at(int dir, const std::string& name, mode_t mode);

std::optional<struct stat> stat_at(int dir, const std::string& name);

// Reads a regular file with one link (no symlink, no hard link to somewhere else), at most
// `limit` bytes; throws FsError naming `shown` when it is anything else or larger.
std::string read_text_at(int dir, const std::string& name, std::size_t limit,
                         const std::string& shown);
// The last `n` bytes (or all, when shorter), with the same checks: enough to tell whether a
// request is complete without reading it twice.
std::string read_tail_at(int dir, const std::string& name, std::size_t n, const std::string& shown);
sdk::Buffer read_bytes_at(int dir, const std::string& name, std::size_t limit,
                          const std::string& shown);

// Writes parts to a fresh temp file beside `name`, then renames it over `name`: a reader sees
// the old file or the whole new one. Throws FsError (with ENOSPC on a full disk); leaves no
// temp file behind.
struct ByteSpan {
  const void* data;
  std::size_t size;
};
void write_atomically_at(int dir, const std::string& name, const std::vector<ByteSpan>& parts,
                         bool sync, const std::string& shown);
void write_text_atomically_at(int dir, const std::string& name, const std::string& text, bool sync,
                              const std::string& shown);

void rename_at(int from_dir, const std::string& from, int to_dir, const std::string& to,
               const std::string& shown);
// Removes a file; a missing one is fine.
void remove_at(int dir, const std::string& name);
std::vector<std::string> list_directory(int dir);

}  // namespace vgpu::transports::file
