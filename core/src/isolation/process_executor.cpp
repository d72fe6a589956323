#include "process_executor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

extern char** environ;

namespace vgpu::core::isolation {
namespace {

constexpr int kWorkerFd = 3;  // the child's end of the socketpair, as `--executor-worker 3`
constexpr int kRingsFd = 4;   // the rings' memfd, as `--executor-worker 3 4`

bool readable_within(int fd, std::chrono::milliseconds limit) {
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    const int r = ::poll(&p, 1, static_cast<int>(limit.count()));
    if (r < 0 && errno == EINTR) continue;
    return r > 0;
  }
}

}  // namespace

ProcessExecutor::ProcessExecutor(Launch launch, sdk::Logger& log)
    : launch_(std::move(launch)), log_(log) {
  worker_ = start_worker();  // throws: the executor does not exist then
  supervisor_ = std::thread([this] { supervise(); });
}

ProcessExecutor::~ProcessExecutor() {
  stop();
}

pid_t ProcessExecutor::worker_pid() const {
  std::lock_guard lock(mutex_);
  return worker_.channel ? worker_.pid : -1;
}

std::optional<std::string> ProcessExecutor::unusable() const {
  std::lock_guard lock(mutex_);
  if (start_failure_.empty()) return std::nullopt;
  return "executor '" + launch_.name + "' has no worker process: " + start_failure_;
}

std::string ProcessExecutor::reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return "was killed by signal " + std::to_string(sig) + " (" + ::strsignal(sig) + ")";
  }
  return "exited with status " + std::to_string(WEXITSTATUS(status));
}

ProcessExecutor::Worker ProcessExecutor::start_worker() {
  // A polled channel goes through shared-memory rings; the worker gets them as fd 4. The
  // memfd is copied above both target numbers first, so neither dup2 can overwrite the other.
  // (Made before the socketpair: a failure here has nothing else open to close.)
  std::shared_ptr<WorkerRings> rings;
  int rings_for_child = -1;
  if (launch_.poll.count() > 0) {
    rings = WorkerRings::create();
    rings_for_child = ::fcntl(rings->fd(), F_DUPFD_CLOEXEC, 10);
    if (rings_for_child < 0)
      throw std::runtime_error(std::string("copying the worker's rings: ") + std::strerror(errno));
  }
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
    const int e = errno;
    if (rings_for_child >= 0) ::close(rings_for_child);
    throw std::runtime_error(std::string("socketpair: ") + std::strerror(e));
  }
  auto channel = std::make_shared<Channel>(fds[0]);
  // dup2 onto kWorkerFd clears close-on-exec there; an end that already is fd 3 is moved first.
  int child_end = fds[1];
  if (child_end == kWorkerFd) {
    child_end = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 10);
    ::close(fds[1]);
  }
  if (rings) channel->use_rings(rings, /*mediator_end=*/true);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, child_end, kWorkerFd);
  if (rings_for_child >= 0) posix_spawn_file_actions_adddup2(&actions, rings_for_child, kRingsFd);
  // Nothing else of the mediator's reaches the worker. A descriptor open without close-on-exec
  // at this moment (a client's connection being answered, the admin socket) would otherwise
  // live on in the worker, and a peer waiting for its end would wait as long as the worker runs.
  posix_spawn_file_actions_addclosefrom_np(&actions,
                                           rings_for_child >= 0 ? kRingsFd + 1 : kWorkerFd + 1);
  const std::string program = launch_.program.string();
  const std::string fd_arg = std::to_string(kWorkerFd), rings_arg = std::to_string(kRingsFd);
  char* argv[] = {const_cast<char*>(program.c_str()), const_cast<char*>("--executor-worker"),
                  const_cast<char*>(fd_arg.c_str()),
                  rings_for_child >= 0 ? const_cast<char*>(rings_arg.c_str()) : nullptr, nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(child_end);
  if (rings_for_child >= 0) ::close(rings_for_child);
  if (rc != 0)
    throw std::runtime_error("cannot start " + program +
                             " --executor-worker: " + std::strerror(rc));

  const std::string who = "executor '" + launch_.name + "' worker process " + std::to_string(pid);
  auto give_up = [&](const std::string& why) -> std::runtime_error {
    ::kill(pid, SIGKILL);
    return std::runtime_error(who + " " + why + " (" + reap(pid) + ")");
  };
  channel->set_poll(launch_.poll);
  if (!channel->send(MessageType::setup, encode(launch_.setup)))
    throw give_up("did not take its setup");
  if (!readable_within(channel->fd(), launch_.start_timeout))
    throw give_up("did not start within " + std::to_string(launch_.start_timeout.count()) + " ms");
  std::optional<Message> first;
  try {
    first = channel->receive();
  } catch (const ProtocolError& e) {
    throw give_up(e.what());
  }
  if (!first) throw give_up("ended before it was ready");
  switch (first->type) {
    case MessageType::ready:
      if (info_.name.empty()) info_ = decode_info(first->payload);
      log_.info(who + " is ready");
      return Worker{pid, channel};
    case MessageType::unavailable:
      reap(pid);
      throw sdk::ExecutorUnavailable(first->payload);
    case MessageType::failed: {
      reap(pid);
      const auto& text = first->payload;
      const auto kind = text.starts_with("config:") ? WorkerSetupError::Kind::config
                        : text.starts_with("load:") ? WorkerSetupError::Kind::load
                                                    : WorkerSetupError::Kind::other;
      throw WorkerSetupError(kind, text.substr(text.find(':') + 1));
    }
    default:
      throw give_up("sent an unexpected first message");
  }
}

void ProcessExecutor::send_job(const std::shared_ptr<Channel>& channel, const sdk::Job& job) {
  // A failed send needs nothing here: the worker is gone, and the supervisor, seeing the end of
  // its stream, fails every job registered to it, this one included.
  channel->send(MessageType::job, encode(job));
}

void ProcessExecutor::execute(sdk::JobPtr job, sdk::DoneCallback done) {
  std::shared_ptr<Channel> channel;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) {
      done(sdk::JobResult::failure(sdk::Status::shutting_down, "the executor is stopping"));
      return;
    }
    if (!worker_.channel || !worker_usable_) {
      waiting_.push_back({std::move(job), std::move(done)});
      return;
    }
    in_flight_.emplace(job->id, std::move(done));
    channel = worker_.channel;
  }
  send_job(channel, *job);
}

std::vector<sdk::Reading> ProcessExecutor::readings() const {
  std::shared_ptr<Channel> channel;
  {
    std::lock_guard lock(mutex_);
    if (worker_usable_) channel = worker_.channel;
  }
  if (!channel) return {};
  std::unique_lock lock(readings_mutex_);
  const auto asked = readings_answers_;
  if (!channel->send(MessageType::readings_request, {})) return {};
  if (!readings_arrived_.wait_for(lock, std::chrono::seconds(1),
                                  [&] { return readings_answers_ > asked; }))
    return {};
  return last_readings_;
}

void ProcessExecutor::supervise() {
  auto backoff = std::chrono::milliseconds(100);
  std::string lost_reason;
  for (;;) {
    Worker worker;
    {
      std::unique_lock lock(mutex_);
      worker = worker_;
      if (!worker.channel && stopping_) break;
    }
    if (!worker.channel) {
      // Start a replacement; jobs that arrived meanwhile go to it.
      try {
        auto fresh = start_worker();
        ++restarts_;
        backoff = std::chrono::milliseconds(100);
        std::deque<Waiting> waiting;
        {
          std::lock_guard lock(mutex_);
          worker_ = fresh;
          worker_usable_ = true;
          start_failure_.clear();
          waiting.swap(waiting_);
          for (auto& w : waiting) in_flight_.emplace(w.job->id, std::move(w.done));
        }
        for (auto& w : waiting) send_job(fresh.channel, *w.job);
      } catch (const std::exception& e) {
        std::deque<Waiting> waiting;
        {
          std::lock_guard lock(mutex_);
          waiting.swap(waiting_);
          start_failure_ = e.what();
        }
        log_.error("executor '" + launch_.name + "' cannot start a new worker process: " +
                   e.what() + "; trying again in " + std::to_string(backoff.count()) + " ms");
        for (auto& w : waiting)
          w.done(sdk::JobResult::failure(
              sdk::Status::execution_error,
              "executor '" + launch_.name + "' has no worker process: " + e.what()));
        std::unique_lock lock(mutex_);
        changed_.wait_for(lock, backoff, [this] { return stopping_; });
        backoff = std::min(backoff * 2, std::chrono::milliseconds(10000));
      }
      continue;
    }

    std::optional<Message> message;
    std::string broken;
    try {
      message = worker.channel->receive();
    } catch (const ProtocolError& e) {
      broken = e.what();
    }
    if (message && message->type == MessageType::result) {
      auto [id, result] = decode_result(message->payload);
      sdk::DoneCallback done;
      {
        std::lock_guard lock(mutex_);
        if (auto it = in_flight_.find(id); it != in_flight_.end()) {
          done = std::move(it->second);
          in_flight_.erase(it);
        }
      }
      if (done) done(std::move(result));
      continue;
    }
    if (message && message->type == MessageType::readings) {
      try {
        auto readings = decode_readings(message->payload);
        std::lock_guard lock(readings_mutex_);
        last_readings_ = std::move(readings);
        ++readings_answers_;
      } catch (const ProtocolError& e) {
        log_.warn("executor '" + launch_.name + "' sent unreadable telemetry: " + e.what());
      }
      readings_arrived_.notify_all();
      continue;
    }
    if (message && message->type == MessageType::lost) {
      lost_reason = message->payload;  // the failing job's result, then the end of the stream
      std::lock_guard lock(mutex_);
      worker_usable_ = false;
      continue;
    }
    if (message) continue;  // nothing else is meant for this side

    // The worker is gone (or spoke nonsense): fail what it held, then replace it.
    if (!broken.empty()) ::kill(worker.pid, SIGKILL);
    const auto ended = reap(worker.pid);
    std::unordered_map<sdk::JobId, sdk::DoneCallback> lost;
    bool stopping = false;
    {
      std::lock_guard lock(mutex_);
      worker_ = {};
      lost.swap(in_flight_);
      stopping = stopping_;
    }
    // What the worker said (lost) or what went wrong reading it, beyond how it ended.
    const std::string detail = !lost_reason.empty() ? lost_reason : broken;
    if (!stopping)
      log_.warn("executor '" + launch_.name + "' worker process " + std::to_string(worker.pid) +
                " " + ended + (detail.empty() ? "" : ": " + detail) + "; " +
                std::to_string(lost.size()) + " jobs in it failed; starting a new one");
    for (auto& [id, done] : lost)
      done(stopping ? sdk::JobResult::failure(sdk::Status::shutting_down,
                                              "the executor stopped before the job finished")
                    : sdk::JobResult::failure(
                          sdk::Status::execution_error,
                          "the executor's worker process " + std::to_string(worker.pid) + " " +
                              (detail.empty() ? ended : "stopped: " + detail) +
                              " while this job was in it; a new process takes the next jobs"));
    lost_reason.clear();
  }
  std::deque<Waiting> waiting;
  {
    std::lock_guard lock(mutex_);
    waiting.swap(waiting_);
    supervisor_done_ = true;
  }
  changed_.notify_all();
  for (auto& w : waiting)
    w.done(sdk::JobResult::failure(sdk::Status::shutting_down, "the executor is stopping"));
}

void ProcessExecutor::stop() {
  Worker worker;
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && !supervisor_.joinable()) return;
    stopping_ = true;
    worker = worker_;
  }
  changed_.notify_all();
  // The worker finishes what it holds (the results still come back), then exits.
  if (worker.channel) worker.channel->send(MessageType::shutdown, {});
  {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, launch_.stop_grace, [this] { return supervisor_done_; }) &&
        worker.pid > 0) {
      log_.warn("executor '" + launch_.name + "' worker process " + std::to_string(worker.pid) +
                " did not stop within the grace period; killing it");
      ::kill(worker.pid, SIGKILL);
    }
  }
  if (supervisor_.joinable()) supervisor_.join();
}

}  // namespace vgpu::core::isolation
