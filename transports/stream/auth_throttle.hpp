// A failure budget for HELLOs per peer address: a guest guessing tokens gets a few tries, then
// waits, twice as long after each further failure (up to a maximum). A success clears the
// address's record. Bounded: at most kMaxTracked addresses are remembered; the stalest go first.
#pragma once

#include <algorithm>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace vgpu::transports {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxTracked = 65536;

  AuthThrottle(unsigned failures_allowed, std::chrono::milliseconds max_backoff)
      : allowed_(failures_allowed), max_backoff_(max_backoff) {}

  // How long `peer` must still wait before its next HELLO is looked at; zero when it may try.
  std::chrono::milliseconds wait_for(const std::string& peer, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = peers_.find(peer);
    if (it == peers_.end() || now >= it->second.blocked_until) return {};
    return std::chrono::ceil<std::chrono::milliseconds>(it->second.blocked_until - now);
  }

  void failed(const std::string& peer, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    if (peers_.size() >= kMaxTracked && !peers_.count(peer)) forget_stalest();
    Record& r = peers_[peer];
    r.last = now;
    if (++r.failures < allowed_) return;
    const unsigned doublings = std::min(r.failures - allowed_, 20u);
    const auto backoff = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(1000) * (1u << doublings), max_backoff_);
    r.blocked_until = now + backoff;
  }

  void succeeded(const std::string& peer) {
    std::lock_guard lock(mutex_);
    peers_.erase(peer);
  }

 private:
  struct Record {
    unsigned failures = 0;
    Clock::time_point blocked_until{};
    Clock::time_point last{};
  };
  void forget_stalest() {
    auto stalest = std::min_element(peers_.begin(), peers_.end(),
                                    [](auto& a, auto& b) { return a.second.last < b.second.last; });
    if (stalest != peers_.end()) peers_.erase(stalest);
  }

  const unsigned allowed_;
  const std::chrono::milliseconds max_backoff_;
  std::mutex mutex_;
  std::unordered_map<std::string, Record> peers_;
};

}  // namespace vgpu::transports
