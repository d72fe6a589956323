// file: the shared-directory transport (docs/protocol.md, "File transport"). One thread watches
// every registered VM's directory, claims requests (request.txt of the original protocol, and
// spool *.req files), submits them as that VM — the directory is the proof of identity — and
// writes each result back where the guest looks for it.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "change_watcher.hpp"
#include "request_journal.hpp"
#include "responses.hpp"
#include "vgpu/protocol/spool.hpp"
#include "vgpu/sdk/context.hpp"
#include "vgpu/sdk/log_limiter.hpp"
#include "vgpu/sdk/transport.hpp"
#include "vm_directories.hpp"

namespace vgpu::transports::file {

struct FileTransportSettings {
  std::string root;
  std::string state_dir;
  std::optional<DetectMode> detect;  // none: decide from the filesystem (auto)
  std::chrono::milliseconds poll_interval{100};
  std::chrono::milliseconds rescan_interval{1000};  // the safety net under inotify
  std::chrono::milliseconds compat_settle{50};      // a request.txt without newline, once quiet
  std::chrono::milliseconds partial_timeout{5000};  // a .req without `end` is declared broken
  bool compat = true;
  bool spool = true;
  bool fsync = false;
  DirectoryOwner owner;
};

// A claimed request the core has, until its response is written.
struct InFlight {
  std::string key;
  std::string op;
  std::vector<std::string> inputs;  // spool payload files, removed with the request
  ResolvedVm vm;
};

// Completed results, handed from executor threads to the transport's thread.
class CompletionQueue {
 public:
  struct Item {
    std::uint32_t vm_id;
    std::uint64_t tag;
    sdk::JobResult result;
  };
  explicit CompletionQueue(ChangeWatcher& watcher) : watcher_(watcher) {}
  void push(Item item);
  std::vector<Item> take_all();
  void detach();  // after stop: results are dropped

 private:
  std::mutex mutex_;
  std::vector<Item> items_;
  ChangeWatcher& watcher_;
  bool detached_ = false;  // the transport is gone; the core may still hold channels
};

// One VM's way back, shared with the core. started() records the start on disk before the job
// can run; deliver() queues the result for the transport's thread.
class VmChannel final : public sdk::ReplyChannel {
 public:
  VmChannel(const VmDirectory& dir, std::shared_ptr<CompletionQueue> queue, sdk::Logger& log)
      : dir_(dir), queue_(std::move(queue)), log_(log) {}

  void expect(std::uint64_t tag, InFlight request);
  std::optional<InFlight> take(std::uint64_t tag);
  std::size_t in_flight() const;
  bool has_key(const std::string& key) const;

  void started(std::uint64_t tag) override;
  void deliver(std::uint64_t tag, sdk::JobResult result) override;

 private:
  const VmDirectory& dir_;
  std::shared_ptr<CompletionQueue> queue_;
  sdk::Logger& log_;
  mutable std::mutex mutex_;
  std::map<std::uint64_t, InFlight> requests_;
  std::set<std::string> keys_;  // of requests_, for the duplicate-name check at every scan
};

class FileTransport final : public sdk::Transport {
 public:
  FileTransport(FileTransportSettings settings, sdk::Logger& log, sdk::Metrics& metrics);
  ~FileTransport() override;

  void start(sdk::Sink& sink) override;
  void stop() override;
  std::vector<std::string> endpoints() const override;

 private:
  struct Vm {
    VmDirectory dir;
    std::shared_ptr<VmChannel> channel;
    std::uint64_t next_tag = 1;
  };
  // A response not in the guest's directory yet. Normally it waits staged in the VM's outbox
  // on disk and only its request is remembered here; only when even staging failed (a full
  // disk) the result itself is kept in memory.
  struct Unwritten {
    std::uint32_t vm_id;
    InFlight request;
    std::optional<sdk::JobResult> result;  // set only when it could not be staged
  };
  using SystemTime = std::chrono::system_clock::time_point;
  using SteadyTime = std::chrono::steady_clock::time_point;

  // file_transport.cpp: the thread and the VMs' folders.
  void run();
  void sync_vms();
  Vm* open_vm(std::uint32_t vm_id);
  // file_recovery.cpp: what a previous run left claimed.
  void recover(Vm& vm);
  // file_requests.cpp: requests in, refusals out.
  void scan(Vm& vm);
  void scan_compat(Vm& vm);
  void scan_spool(Vm& vm);
  // Moves an unusable requests/ file to rejected/ without a response (its name cannot carry one).
  void set_aside(Vm& vm, const std::string& file, const std::string& why);
  // Reads and submits a request already claimed into pending/.
  void take_claimed(Vm& vm, const std::string& key);
  void take_compat(Vm& vm, const std::string& key, const std::string& text);
  void take_spool(Vm& vm, const std::string& key, const std::string& text);
  // Refuses a claimed request: moves its files aside and writes the error response.
  void refuse(Vm& vm, const std::string& key, const std::string& op,
              const std::vector<std::string>& inputs, sdk::Status status, const std::string& why,
              const ResolvedVm& who);
  std::optional<ResolvedVm> check_identity(Vm& vm, const spool::ClaimedIdentity& claimed,
                                           std::string& why);
  void submit(Vm& vm, InFlight request, sdk::SubmitRequest submit);
  // file_answers.cpp: results out.
  void drain_completions();
  void answer(std::uint32_t vm_id, InFlight request, sdk::JobResult result);
  // Writes the response into the VM's outbox (stage), then renames it into the guest's
  // directory (publish). Each returns false, logged, when the disk refused.
  bool stage_response(Vm& vm, const InFlight& request, const sdk::JobResult& result);
  bool publish_response(Vm& vm, const InFlight& request);
  // Whether a staged response of `key` waits in the outbox (after a restart, for recovery).
  bool has_staged_response(Vm& vm, const std::string& key);
  // Reopens directories the guest replaced (see DirectoryLayout::refresh); false when the VM's
  // directory cannot be used now (logged once until it can).
  bool refresh(Vm& vm);
  // The request is answered: its claim and input files go.
  void finish(Vm& vm, const InFlight& request);
  void retry_unwritten();
  bool revisit_later(SystemTime written, std::chrono::milliseconds quiet_for);

  FileTransportSettings settings_;
  sdk::Logger& log_;
  sdk::Metrics& metrics_;
  sdk::Sink* sink_ = nullptr;
  DirectoryLayout layout_;
  std::unique_ptr<ChangeWatcher> watcher_;
  std::shared_ptr<CompletionQueue> completions_;
  std::map<std::uint32_t, std::unique_ptr<Vm>> vms_;
  std::set<std::uint32_t> failed_vms_;  // logged once, retried at each rescan
  std::set<std::uint32_t> broken_vms_;  // a replaced directory could not be reopened (logged once)
  std::vector<Unwritten> unwritten_;
  sdk::LogLimiter log_limiter_;  // lines a guest can cause again and again
  SteadyTime next_revisit_ = SteadyTime::max();
  std::uint64_t compat_sequence_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace vgpu::transports::file
