// Runs one qemu-system-x86_64 as a child process: its stdout and stderr (the guest's serial
// console, with -serial stdio) go to a log file, or stdin/stdout are pipes (for -qtest stdio).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace vgpu::testing {

class QemuProcess {
 public:
  enum class Stdio { to_log, pipes };

  QemuProcess(const std::filesystem::path& qemu, const std::vector<std::string>& args,
              const std::filesystem::path& log, Stdio stdio = Stdio::to_log);
  ~QemuProcess();  // kills it if it still runs
  QemuProcess(const QemuProcess&) = delete;
  QemuProcess& operator=(const QemuProcess&) = delete;

  // Waits for the exit; false when `limit` passed first (it keeps running).
  bool wait(std::chrono::milliseconds limit);
  int exit_code() const { return exit_code_; }  // 128+signal when killed
  void kill();
  std::string log() const;
  const std::string& command_line() const { return command_line_; }

  // With Stdio::pipes: one line to QEMU's stdin, one line back from its stdout.
  std::string exchange(const std::string& line, std::chrono::milliseconds limit);

 private:
  pid_t pid_ = -1;
  int exit_code_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string pending_;
  std::filesystem::path log_;
  std::string command_line_;
};

}  // namespace vgpu::testing
