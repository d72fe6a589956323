// The executor's side of guest programs' session processes (vgpu-cuda-session): one process
// per program (isolated), or one per shared pool holding all that pool's programs (shared).
// A session is asked one request at a time, and ends with `cuda.close`, idleness or the
// executor's end.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "session_channel.hpp"

namespace vgpu::executors::cuda::remote {

// A started vgpu-cuda-session, and how it ended.
class ChildProcess {
 public:
  // The descriptor the child finds its channel at; it holds nothing else of ours but stdio.
  static constexpr int kChannelFd = 3;
  // `channel_fd` (this process's descriptor) becomes the child's kChannelFd.
  ChildProcess(const std::string& program, const std::vector<std::string>& args, int channel_fd);
  ~ChildProcess();  // waits a moment for the process to end, then kills it
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  std::string ended();
  pid_t pid() const { return pid_; }
  void kill();  // at once, e.g. after a batch ran past its time

 private:
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
  std::mutex mutex_;
};

// A shared pool's process: sessions are handed to it as descriptors over its control socket.
class PoolProcess {
 public:
  // `reserved_sms`: SMs kept for the pool's high-priority VMs (0: none).
  PoolProcess(const std::string& program, int device, std::chrono::microseconds poll,
              unsigned reserved_sms = 0);
  ~PoolProcess();
  // A new session's channel (this side's descriptor), or -1 when the process is gone.
  int new_session(int priority_level, std::uint64_t quota_bytes);
  std::string ended() { return child_->ended(); }
  pid_t pid() const { return child_->pid(); }
  void kill() { child_->kill(); }

 private:
  int control_ = -1;
  std::unique_ptr<ChildProcess> child_;
  std::mutex mutex_;
};

class SessionProcess {
 public:
  // Isolated: starts `program` for this session alone; throws std::runtime_error naming what
  // failed. `poll`: how long each side watches for the other's message before sleeping.
  SessionProcess(const std::string& program, int device, int priority_level,
                 std::uint64_t quota_bytes, std::chrono::microseconds poll);
  // Shared: a session inside `pool`'s process. Throws std::runtime_error when the pool's
  // process is gone.
  SessionProcess(std::shared_ptr<PoolProcess> pool, int priority_level, std::uint64_t quota_bytes,
                 std::chrono::microseconds poll);
  ~SessionProcess();
  SessionProcess(const SessionProcess&) = delete;
  SessionProcess& operator=(const SessionProcess&) = delete;

  // Sends a request and waits for its reply, at most `limit` (zero: no limit); nullopt when the
  // process is gone, refused the session or ran past the limit (then `ended()` says how, and
  // the process is killed: its work cannot be taken back otherwise). One request at a time:
  // callers hold `mutex`.
  std::optional<Reply> ask(SessionRequest kind, std::uint64_t budget = 0,
                           std::span<const std::uint8_t> body = {},
                           std::chrono::milliseconds limit = std::chrono::milliseconds(0));
  std::string ended();
  // How long the executor watches for a reply before sleeping.
  void set_poll(std::chrono::microseconds poll) { poll_ = poll; }
  pid_t pid() const { return own_ ? own_->pid() : pool_->pid(); }
  bool shared() const { return pool_ != nullptr; }

  std::mutex mutex;

 private:
  std::chrono::microseconds poll_;
  std::unique_ptr<SessionLink> link_;     // null once the session is over
  std::chrono::milliseconds overran_{0};  // the limit a request ran past, if one did
  std::unique_ptr<ChildProcess> own_;     // isolated
  std::shared_ptr<PoolProcess> pool_;     // shared
};

// Where vgpu-cuda-session is: `configured` when it names a path, else next to the program
// running now (the mediator's folder, as installed and in the build tree), else on PATH.
std::string session_program(const std::string& configured);

}  // namespace vgpu::executors::cuda::remote
