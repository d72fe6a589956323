#include "qemu_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace vgpu::testing {

QemuProcess::QemuProcess(const std::filesystem::path& qemu, const std::vector<std::string>& args,
                         const std::filesystem::path& log, Stdio stdio)
    : log_(log) {
  command_line_ = qemu.string();
  for (const auto& a : args) command_line_ += " " + a;
  int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
  if (stdio == Stdio::pipes &&
      (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0))
    throw std::runtime_error("pipe failed");
  const int log_fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error("cannot create " + log.string());
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(qemu.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    if (stdio == Stdio::pipes) {
      ::dup2(in_pipe[0], 0);
      ::dup2(out_pipe[1], 1);
    } else {
      const int null_fd = ::open("/dev/null", O_RDONLY);
      ::dup2(null_fd, 0);
      ::dup2(log_fd, 1);
    }
    ::dup2(log_fd, 2);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(log_fd);
  if (stdio == Stdio::pipes) {
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    to_child_ = in_pipe[1];
    from_child_ = out_pipe[0];
  }
}

QemuProcess::~QemuProcess() {
  kill();
  if (to_child_ >= 0) ::close(to_child_);
  if (from_child_ >= 0) ::close(from_child_);
}

bool QemuProcess::wait(std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (pid_ > 0) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      pid_ = -1;
      return true;
    }
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

void QemuProcess::kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exit_code_ = 128 + SIGKILL;
  pid_ = -1;
}

std::string QemuProcess::log() const {
  std::ifstream in(log_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string QemuProcess::exchange(const std::string& line, std::chrono::milliseconds limit) {
  if (to_child_ < 0) throw std::logic_error("exchange() needs Stdio::pipes");
  const std::string out = line + "\n";
  if (::write(to_child_, out.data(), out.size()) != static_cast<ssize_t>(out.size()))
    throw std::runtime_error("QEMU closed its stdin:\n" + log());
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (auto nl = pending_.find('\n'); nl != std::string::npos) {
      std::string reply = pending_.substr(0, nl);
      pending_.erase(0, nl + 1);
      return reply;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    pollfd p{from_child_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      throw std::runtime_error("no reply from QEMU to '" + line + "':\n" + log());
    char buf[512];
    const auto n = ::read(from_child_, buf, sizeof buf);
    if (n <= 0) throw std::runtime_error("QEMU exited while answering '" + line + "':\n" + log());
    pending_.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace vgpu::testing
