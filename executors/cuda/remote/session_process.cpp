#include "session_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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

namespace {
// A connected pair: [0] for the executor (close-on-exec), [1] for the child.
std::array<int, 2> channel() {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0)
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(errno));
  return {fds[0], fds[1]};
}
}  // namespace

ChildProcess::ChildProcess(const std::string& program, const std::vector<std::string>& args,
                           int channel_fd) {
  // The channel loses close-on-exec only in the child (posix_spawn's file actions), so no other
  // process started meanwhile inherits it. It goes through a spare number first: dup2 onto
  // itself would not clear close-on-exec. Nothing else of this process reaches the child: a
  // descriptor open here without close-on-exec (another session's channel, a socket being
  // answered) would otherwise live on there, and its peer would wait for an end that never came.
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const int spare = std::max(channel_fd, kChannelFd) + 100;
  posix_spawn_file_actions_adddup2(&actions, channel_fd, spare);
  posix_spawn_file_actions_adddup2(&actions, spare, kChannelFd);
  posix_spawn_file_actions_addclosefrom_np(&actions, kChannelFd + 1);
  std::vector<std::string> all{program};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int e = ::posix_spawnp(&pid_, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (e != 0)
    throw std::runtime_error("cannot start " + program + ": " + std::strerror(e) +
                             " (the cuda executor's remote_session_program)");
}

ChildProcess::~ChildProcess() {
  std::lock_guard lock(mutex_);
  if (pid_ <= 0 || reaped_) return;
  // A child still inside a long kernel gets a moment, then is killed.
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, &status_, WNOHANG) == pid_) return;
    ::usleep(10'000);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status_, 0);
}

void ChildProcess::kill() {
  std::lock_guard lock(mutex_);
  if (pid_ > 0 && !reaped_) ::kill(pid_, SIGKILL);
}

std::string ChildProcess::ended() {
  std::lock_guard lock(mutex_);
  if (!reaped_ && pid_ > 0 && ::waitpid(pid_, &status_, WNOHANG) == pid_) reaped_ = true;
  if (!reaped_) return "the session process stopped answering";
  if (WIFSIGNALED(status_))
    return "the session process died of signal " + std::to_string(WTERMSIG(status_));
  return "the session process exited with status " + std::to_string(WEXITSTATUS(status_));
}

namespace {
// Starts `program` with arguments `lead`, the child's end of a new channel, then `rest`; returns
// this side's end. Closes both ends if the start fails.
int start_with_channel(std::unique_ptr<ChildProcess>& child, const std::string& program,
                       std::vector<std::string> lead, const std::vector<std::string>& rest) {
  const auto fds = channel();
  lead.push_back(std::to_string(ChildProcess::kChannelFd));
  lead.insert(lead.end(), rest.begin(), rest.end());
  try {
    child = std::make_unique<ChildProcess>(program, lead, fds[1]);
  } catch (...) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw;
  }
  ::close(fds[1]);
  return fds[0];
}
}  // namespace

PoolProcess::PoolProcess(const std::string& program, int device, std::chrono::microseconds poll,
                         unsigned reserved_sms) {
  control_ = start_with_channel(
      child_, program, {"--shared"},
      {std::to_string(device), std::to_string(poll.count()), std::to_string(reserved_sms)});
}

PoolProcess::~PoolProcess() {
  if (control_ >= 0) ::close(control_);  // the pool's process ends when its control closes
  child_.reset();
}

int PoolProcess::new_session(int priority_level, std::uint64_t quota_bytes) {
  const auto fds = channel();
  std::lock_guard lock(mutex_);
  const bool sent = send_session(control_, fds[1], priority_level, quota_bytes);
  ::close(fds[1]);
  if (!sent) {
    ::close(fds[0]);
    return -1;
  }
  return fds[0];
}

SessionProcess::SessionProcess(const std::string& program, int device, int priority_level,
                               std::uint64_t quota_bytes, std::chrono::microseconds poll)
    : poll_(poll) {
  link_ = SessionLink::offer(
      start_with_channel(own_, program, {},
                         {std::to_string(device), std::to_string(priority_level),
                          std::to_string(quota_bytes), std::to_string(poll.count())}));
}

SessionProcess::SessionProcess(std::shared_ptr<PoolProcess> pool, int priority_level,
                               std::uint64_t quota_bytes, std::chrono::microseconds poll)
    : poll_(poll), pool_(std::move(pool)) {
  const int fd = pool_->new_session(priority_level, quota_bytes);
  if (fd < 0) throw std::runtime_error("the pool's session process is gone: " + pool_->ended());
  link_ = SessionLink::offer(fd);
}

SessionProcess::~SessionProcess() {
  link_.reset();  // an isolated child sees its channel end, and exits
  own_.reset();
}

std::optional<Reply> SessionProcess::ask(SessionRequest kind, std::uint64_t budget,
                                         std::span<const std::uint8_t> body,
                                         std::chrono::milliseconds limit) {
  if (!link_ || !write_request(*link_, kind, budget, body)) return std::nullopt;
  Reply reply;
  switch (read_reply(*link_, reply, poll_, limit)) {
    case SessionLink::Wait::message:
      return reply;
    case SessionLink::Wait::timed_out:
      overran_ = limit;
      if (own_)
        own_->kill();
      else
        pool_->kill();  // the context is shared: the pool's process goes, and is replaced
      break;
    case SessionLink::Wait::gone:
      break;
  }
  link_.reset();
  return std::nullopt;
}

std::string SessionProcess::ended() {
  if (overran_.count() > 0)
    return "the batch ran longer than " + std::to_string(overran_.count() / 1000) +
           " s (remote_batch_timeout_s) and its session process was killed" +
           (pool_ ? std::string(", with the other programs of its pool") : std::string());
  if (own_) return own_->ended();
  const std::string pool = pool_->ended();
  return pool == "the session process stopped answering"
             ? "the pool's session process refused the session (its shared context was lost)"
             : pool;
}

}  // namespace vgpu::executors::cuda::remote
