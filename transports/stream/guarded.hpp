// A value reachable only with its mutex held: lock() returns an accessor that owns the lock, so
// code that touches the value without the lock does not compile, and touching it after the
// accessor gave the lock up fails an assertion. Used where a comment ("holds send_mutex_") was
// all that kept several threads apart.
#pragma once

#include <cassert>
#include <mutex>

namespace vgpu::transports {

template <typename T>
class Guarded {
 public:
  class Access {
   public:
    explicit Access(Guarded& guarded) : lock_(guarded.mutex_), value_(guarded.value_) {}
    T* operator->() {
      assert(lock_.owns_lock());
      return &value_;
    }
    T& operator*() {
      assert(lock_.owns_lock());
      return value_;
    }
    // Gives the lock up early; the accessor must not be used after this.
    void unlock() { lock_.unlock(); }

   private:
    std::unique_lock<std::mutex> lock_;
    T& value_;
  };

  Access lock() { return Access(*this); }

 private:
  std::mutex mutex_;
  T value_{};
};

}  // namespace vgpu::transports
