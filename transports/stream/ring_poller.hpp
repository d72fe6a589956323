// The stream transports' polling I/O thread watches the submit rings of the connections that
// have them (docs/protocol.md, "Rings"), between its looks at the sockets. While it watches, a
// client's SUBMIT costs no system call on either side; before it sleeps it marks every ring
// unwatched, so that clients send a NUDGE on the socket instead (vgpu/protocol/ring.hpp,
// "Sleeping"). Without busy_poll_us nobody polls: every ring stays unwatched and each frame comes
// with a NUDGE, which works, but saves nothing.
#pragma once

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

namespace vgpu::transports {

// A connection with rings, as the poller sees it.
class RingSource {
 public:
  virtual ~RingSource() = default;
  // Takes every frame waiting in the submit ring; true when there was one.
  virtual bool drain_submit_ring() = 0;
  // Says in the ring's shared memory whether the mediator watches it (false: "nudge me").
  virtual void set_watched(bool watched) = 0;
  virtual bool submit_ring_empty() const = 0;
};

// A RingSource must not call remove() from its destructor: the poller may drop the last
// reference to it while holding its lock.
class RingPoller {
 public:
  void add(const std::shared_ptr<RingSource>& source) {
    std::lock_guard lock(mutex_);
    entries_.push_back({source, source.get(), false});
  }

  void remove(const RingSource* source) {
    std::lock_guard lock(mutex_);
    std::erase_if(entries_, [&](const Entry& e) { return e.key == source; });
  }

  // The polling thread: one look at every ring, marking new ones watched. True when any ring
  // had frames.
  bool poll_once() {
    live_.clear();
    {
      std::lock_guard lock(mutex_);
      std::erase_if(entries_, [](const Entry& e) { return e.source.expired(); });
      for (auto& e : entries_)
        if (auto source = e.source.lock()) {
          if (!e.watched) source->set_watched(true);
          e.watched = true;
          live_.push_back(std::move(source));
        }
    }
    bool any = false;
    for (const auto& source : live_) any = source->drain_submit_ring() || any;
    live_.clear();  // a closed connection must not be kept alive here
    return any;
  }

  // The polling thread, before it sleeps: marks every ring unwatched, then looks once more.
  // False when a frame arrived meanwhile: then it must not sleep (the next poll_once watches
  // the rings again).
  bool prepare_to_sleep() {
    std::lock_guard lock(mutex_);
    bool quiet = true;
    for (auto& e : entries_)
      if (auto source = e.source.lock()) {
        source->set_watched(false);
        e.watched = false;
        quiet = quiet && source->submit_ring_empty();
      }
    return quiet;
  }

 private:
  struct Entry {
    std::weak_ptr<RingSource> source;
    const RingSource* key;
    bool watched;
  };
  std::mutex mutex_;
  std::vector<Entry> entries_;
  std::vector<std::shared_ptr<RingSource>> live_;  // poll_once's, kept to spare an allocation
};

}  // namespace vgpu::transports
