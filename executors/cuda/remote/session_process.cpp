#include "session_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace vgpu::executors::cuda::remote {

std::string session_program(const std::string& configured) {
  if (configured.find('/') != std::string::npos) return configured;
  const std::string name = configured.empty() ? "vgpu-cuda-session" : configured;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto beside = self.parent_path() / name;
    if (std::filesystem::exists(beside, ec)) return beside.string();
  }
  return name;  // posix_spawnp searches PATH
}

SessionProcess::SessionProcess(const std::string& program, int device, int priority_level,
                               std::uint64_t quota_bytes, std::chrono::microseconds poll)
    : poll_(poll) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  // The child's end keeps no CLOEXEC: it is the one descriptor the session process inherits.
  ::fcntl(fds[1], F_SETFD, 0);
  std::vector<std::string> args{program,
                                std::to_string(fds[1]),
                                std::to_string(device),
                                std::to_string(priority_level),
                                std::to_string(quota_bytes),
                                std::to_string(poll.count())};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int e = ::posix_spawnp(&pid_, program.c_str(), nullptr, nullptr, argv.data(), environ);
  ::close(fds[1]);
  if (e != 0) {
    ::close(fds[0]);
    throw std::runtime_error("cannot start " + program + ": " + std::strerror(e) +
                             " (the cuda executor's remote_session_program)");
  }
  fd_ = fds[0];
}

SessionProcess::~SessionProcess() {
  stop();
}

std::optional<Reply> SessionProcess::ask(SessionRequest kind, std::uint64_t budget,
                                         std::span<const std::uint8_t> body) {
  if (fd_ < 0 || !write_request(fd_, kind, budget, body)) return std::nullopt;
  spin_until_readable(fd_, poll_);
  return read_reply(fd_);
}

std::string SessionProcess::ended() {
  if (!reaped_ && pid_ > 0 && ::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  if (!reaped_) return "the session process stopped answering";
  if (WIFSIGNALED(status_))
    return "the session process died of signal " + std::to_string(WTERMSIG(status_));
  return "the session process exited with status " + std::to_string(WEXITSTATUS(status_));
}

void SessionProcess::stop() {
  if (fd_ >= 0) {
    ::close(fd_);  // the child sees end of input and exits, taking its CUDA context along
    fd_ = -1;
  }
  if (pid_ <= 0 || reaped_) return;
  // A child still inside a long kernel gets a moment, then is killed.
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
      reaped_ = true;
      return;
    }
    ::usleep(10'000);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status_, 0);
  reaped_ = true;
}

}  // namespace vgpu::executors::cuda::remote
