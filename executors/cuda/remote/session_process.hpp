// The executor's side of one vgpu-cuda-session process: started for `cuda.open`, asked one
// request at a time, ended by `cuda.close`, idleness or the executor's end.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "session_channel.hpp"

namespace vgpu::executors::cuda::remote {

class SessionProcess {
 public:
  // Starts `program` for `device`; throws std::runtime_error naming what failed. `poll`: how long
  // each side watches for the other's message before sleeping (0: not at all).
  SessionProcess(const std::string& program, int device, int priority_level,
                 std::uint64_t quota_bytes, std::chrono::microseconds poll);
  ~SessionProcess();
  SessionProcess(const SessionProcess&) = delete;
  SessionProcess& operator=(const SessionProcess&) = delete;

  // Sends a request and waits for its reply; nullopt when the process is gone (then `ended()`
  // says how it ended). One request at a time per process: callers hold `mutex`.
  std::optional<Reply> ask(SessionRequest kind, std::uint64_t budget = 0,
                           std::span<const std::uint8_t> body = {});
  std::string ended();
  pid_t pid() const { return pid_; }

  std::mutex mutex;

 private:
  void stop();
  std::chrono::microseconds poll_;
  int fd_ = -1;
  pid_t pid_ = -1;
  int status_ = 0;
  bool reaped_ = false;
};

// Where vgpu-cuda-session is: `configured` when it names a path, else next to the program
// running now (the mediator's folder, as installed and in the build tree), else on PATH.
std::string session_program(const std::string& configured);

}  // namespace vgpu::executors::cuda::remote
