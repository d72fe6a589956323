// The guest's side of the file transport's spool mode (docs/protocol.md, "File transport"):
// requests are written under a temp name and renamed into requests/, results are picked up
// from responses/. Many requests may be in flight; this works over NFS, 9p and virtiofs, where
// the guest cannot be notified of the host's writes, so it polls.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "client.hpp"

namespace vgpu::guest {

class SpoolClient {
 public:
  // `dir` is this VM's directory on the share (e.g. /mnt/vgpu/vm3). Throws ClientError when it
  // has no requests/ and responses/ (share not mounted, or the VM is not registered).
  static SpoolClient open(const std::string& dir,
                          std::chrono::microseconds poll_interval = std::chrono::milliseconds(2));

  std::uint64_t submit(const std::string& op, const std::vector<protocol::Param>& params,
                       const std::vector<protocol::Buffer>& inputs = {},
                       std::uint32_t deadline_ms = 0);
  // The next result to arrive, whichever job it belongs to; throws ClientError after `timeout`.
  RunResult next_result(std::chrono::milliseconds timeout = std::chrono::minutes(10));
  RunResult run(const std::string& op, const std::vector<protocol::Param>& params,
                const std::vector<protocol::Buffer>& inputs = {});
  // The identity the mediator resolved, from the latest response (empty before the first).
  const wire::HelloOk& identity() const { return identity_; }
  std::size_t in_flight() const { return outstanding_.size(); }

 private:
  SpoolClient(std::string dir, std::chrono::microseconds poll_interval);
  std::string name_of(std::uint64_t tag) const;
  RunResult collect(std::uint64_t tag);
  // Waits for any outstanding request's response on disk.
  RunResult poll_responses(std::chrono::milliseconds timeout);

  std::string dir_;
  std::chrono::microseconds poll_interval_;
  std::string prefix_;  // unique per client, so several clients in one VM never collide
  std::uint64_t next_tag_ = 1;
  std::set<std::uint64_t> outstanding_;
  std::map<std::uint64_t, RunResult> waiting_;
  wire::HelloOk identity_;
};

}  // namespace vgpu::guest
