// vgpu-cuda-session: guest programs' CUDA sessions, started by the cuda executor
// (session_process.hpp), in one of two forms:
//   vgpu-cuda-session FD DEVICE PRIORITY QUOTA_BYTES POLL_US
//       one program's session in a process of its own, with its own context: a fault in the
//       program's kernels (an illegal address) loses this process's CUDA state and nothing
//       else (CUDA cannot contain a sticky error to one context of a process: measured on the
//       H100, docs/decisions.md)
//   vgpu-cuda-session --shared CONTROL_FD DEVICE POLL_US [HIGH_RESERVED_SMS]
//       the sessions of one shared pool, each on a descriptor received over CONTROL_FD and served
//       by a thread of its own, all in one process: their streams' priorities then order their
//       kernels on the GPU (and with a reserve, high VMs' kernels have SMs of their own), and a
//       fault in one program's kernels reaches all of them.
#include <cuda.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "remote_driver.hpp"
#include "remote_session.hpp"
#include "session_channel.hpp"

using namespace vgpu::executors::cuda::remote;
namespace cc = vgpu::cuda_calls;

namespace {

struct Setup {
  int fd = -1, device = 0, priority = 1;
  std::uint64_t quota = 0;
};

std::vector<std::uint8_t> describe(const Setup& setup, std::pair<int, int> priorities) {
  const auto& d = RemoteDriver::get();
  CUdevice dev = 0;
  d.device_get(&dev, setup.device);
  cc::DeviceDescription desc;
  char name[256] = {};
  d.device_get_name(name, sizeof name - 1, dev);
  desc.name = name;
  CUuuid uuid{};
  d.device_get_uuid(&uuid, dev);
  std::copy(std::begin(uuid.bytes), std::end(uuid.bytes), desc.uuid);
  std::size_t total = 0;
  d.device_total_mem(&total, dev);
  desc.total_memory = setup.quota ? std::min<std::uint64_t>(setup.quota, total) : total;
  d.driver_get_version(&desc.driver_version);
  desc.attributes.assign(CU_DEVICE_ATTRIBUTE_MAX, 0);
  for (int a = 1; a < CU_DEVICE_ATTRIBUTE_MAX; ++a) {
    int value = 0;
    if (d.device_get_attribute(&value, CUdevice_attribute(a), dev) == CUDA_SUCCESS)
      desc.attributes[a] = value;
  }
  desc.least_priority = priorities.first;
  desc.greatest_priority = priorities.second;
  return cc::encode_description(desc);
}

// The VMs' shared-memory regions this process has mapped (a pool's sessions of one VM share
// the mapping).
std::shared_ptr<GuestMemory> guest_memory(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<GuestMemory>> mapped;
  std::lock_guard lock(mutex);
  auto& memory = mapped[path];
  if (!memory) memory = GuestMemory::map(path);
  return memory;
}

Reply failed(std::string text, Outcome outcome = Outcome::failed) {
  Reply r;
  r.outcome = outcome;
  r.body.assign(text.begin(), text.end());
  return r;
}

// Serves one session's requests on the channel `fd` (owned from here on) until close or the
// executor goes away. `make` creates the session at open. `poisoned`, when given, is set once a
// batch leaves the context lost.
template <typename Make>
int serve(int fd, std::chrono::microseconds poll, Setup setup, Make make,
          std::atomic<bool>* poisoned = nullptr) {
  const auto link = SessionLink::accept(fd);
  if (!link) return 1;
  std::unique_ptr<RemoteSession> session;
  while (true) {
    // A program's next call usually follows its last answer within microseconds; a low VM's
    // session sleeps instead, leaving the cores to the others.
    auto request = read_request(*link, setup.priority <= 0 ? std::chrono::microseconds(0) : poll);
    if (!request) break;
    Reply reply;
    try {
      switch (request->kind) {
        case SessionRequest::open:
          // The VM's terms come with the open (a spare process was started before it had any).
          if (request->body.size() == 1) {
            setup.priority = request->body[0];
            setup.quota = request->budget;
          }
          session = make(setup);
          reply.outcome = Outcome::ok;
          reply.body = describe(setup, session->priority_range());
          break;
        case SessionRequest::calls:
          if (!session) {
            reply = failed("no session opened");
            break;
          }
          reply.outcome = Outcome::ok;
          reply.body = cc::encode_answer(session->run(request->body, request->budget));
          if (poisoned && !session->lost().empty()) *poisoned = true;
          break;
        case SessionRequest::shared_memory:
          if (!session) {
            reply = failed("no session opened");
            break;
          }
          session->use_shared_memory(
              guest_memory(std::string(request->body.begin(), request->body.end())));
          reply.outcome = Outcome::ok;
          break;
        case SessionRequest::close:
          session.reset();
          reply.outcome = Outcome::ok;
          write_reply(*link, reply);
          return 0;
      }
    } catch (const cc::CallError& e) {
      reply = failed(e.what(), Outcome::bad_request);
    } catch (const std::bad_alloc&) {
      reply = failed("out of host memory");
    } catch (const std::exception& e) {
      reply = failed(e.what());
    }
    reply.bytes_held = session ? session->bytes_held() : 0;
    if (!write_reply(*link, reply)) return 1;
  }
  return 0;  // the executor went away
}

// The contexts of a pool's process. Without an SM reserve, one context, made at the first
// session and shared by all. With one (the executor's high_reserved_sms), a green context per
// session over its level's SMs: a high VM's over the reserve, the others' over the rest, so that
// a high VM's kernels never wait for a low VM's long blocks to leave the SMs (as the executor's
// own partitions do for the built-in ops). Green contexts share the process's address space and
// fate: the pool's sessions still share a fault. After a sticky error the process takes no new
// session (it closes the descriptor at once, and the executor starts a fresh process for the
// pool); its sessions keep getting the error until they end.
class PoolContexts {
 public:
  PoolContexts(int device, unsigned reserved_sms) : device_(device), reserved_sms_(reserved_sms) {}

  struct Context {
    CUcontext context = nullptr;
    CUgreenCtx green = nullptr;  // the session's own, destroyed when it ends; null: shared
  };
  // Throws std::runtime_error naming what failed.
  Context for_session(int priority_level) {
    const auto& d = RemoteDriver::get();
    std::lock_guard lock(mutex_);
    if (!reserved_sms_ || !d.green_contexts()) return {shared_context(), nullptr};
    if (!partitioned_) partition();
    Context made;
    check(d.green_create(&made.green, priority_level >= 2 ? high_ : rest_, dev_,
                         CU_GREEN_CTX_DEFAULT_STREAM),
          "cuGreenCtxCreate");
    if (d.ctx_from_green(&made.context, made.green) != CUDA_SUCCESS) {
      d.green_destroy(made.green);
      throw std::runtime_error("cuCtxFromGreenCtx failed");
    }
    // The program's own green context: a low VM's waits block instead of spinning, leaving the
    // host's cores to the VMs whose latency counts.
    if (priority_level <= 0 && d.ctx_set_flags && d.ctx_set_current(made.context) == CUDA_SUCCESS) {
      d.ctx_set_flags(CU_CTX_SCHED_BLOCKING_SYNC);
      d.ctx_set_current(nullptr);
    }
    return made;
  }

 private:
  static void check(CUresult r, const char* what) {
    if (r != CUDA_SUCCESS)
      throw std::runtime_error(std::string(what) + ": " + RemoteDriver::get().describe(r));
  }
  CUcontext shared_context() {
    if (!shared_) {
      const auto& d = RemoteDriver::get();
      CUdevice dev = 0;
      check(d.device_get(&dev, device_), "cuDeviceGet");
      check(d.ctx_create(&shared_, nullptr, CU_CTX_SCHED_AUTO, dev), "cuCtxCreate");
      d.ctx_set_current(nullptr);
    }
    return shared_;
  }
  // The reserve in whole groups of the device's partition size, at least one group left over.
  void partition() {
    const auto& d = RemoteDriver::get();
    check(d.device_get(&dev_, device_), "cuDeviceGet");
    // Kept for the process's life: each green context would otherwise start and end it again.
    CUcontext primary = nullptr;
    check(d.primary_ctx_retain(&primary, dev_), "cuDevicePrimaryCtxRetain");
    CUdevResource all{};
    check(d.device_get_resource(dev_, &all, CU_DEV_RESOURCE_TYPE_SM), "cuDeviceGetDevResource");
    const unsigned granularity = std::max(1u, all.sm.minSmPartitionSize);
    unsigned groups = all.sm.smCount / granularity;
    std::vector<CUdevResource> group(groups);
    CUdevResource remaining{};
    check(d.split_by_count(group.data(), &groups, &all, &remaining, 0, granularity),
          "cuDevSmResourceSplitByCount");
    const unsigned high_groups = (reserved_sms_ + granularity - 1) / granularity;
    if (groups < 2 || high_groups >= groups)
      throw std::runtime_error("high_reserved_sms " + std::to_string(reserved_sms_) +
                               " leaves no SMs for the pool's other VMs (" +
                               std::to_string(groups * granularity) + " SMs)");
    check(d.generate_desc(&high_, group.data(), high_groups), "cuDevResourceGenerateDesc");
    // The rest also takes the SMs that make no whole group (4 of an H100's 132), where the
    // driver lets it.
    std::vector<CUdevResource> rest(group.begin() + high_groups, group.begin() + groups);
    if (remaining.sm.smCount) rest.push_back(remaining);
    if (d.generate_desc(&rest_, rest.data(), unsigned(rest.size())) != CUDA_SUCCESS)
      check(d.generate_desc(&rest_, rest.data(), groups - high_groups),
            "cuDevResourceGenerateDesc");
    partitioned_ = true;
  }

  int device_;
  unsigned reserved_sms_;
  std::mutex mutex_;
  CUcontext shared_ = nullptr;
  bool partitioned_ = false;
  CUdevice dev_{};
  CUdevResourceDesc high_{}, rest_{};
};

int serve_pool(int control, int device, std::chrono::microseconds poll, unsigned reserved_sms) {
  PoolContexts contexts(device, reserved_sms);
  std::atomic<bool> poisoned{false};
  while (auto next = receive_session(control)) {
    if (poisoned) {
      ::close(next->fd);  // the executor sees the session refused and starts a fresh process
      continue;
    }
    std::thread([&contexts, &poisoned, next = *next, device, poll] {
      Setup setup{next.fd, device, next.priority, next.quota};
      serve(
          next.fd, poll, setup,
          [&](const Setup& terms) {
            const auto made = contexts.for_session(terms.priority);
            try {
              auto session =
                  std::make_unique<RemoteSession>(made.context, terms.priority, terms.quota);
              if (made.green)
                session->when_released(
                    [green = made.green] { RemoteDriver::get().green_destroy(green); });
              return session;
            } catch (...) {
              if (made.green) RemoteDriver::get().green_destroy(made.green);
              throw;
            }
          },
          &poisoned);
    }).detach();
  }
  // The executor went away: end at once (threads still inside the driver go with the process).
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if ((argc == 5 || argc == 6) && std::string(argv[1]) == "--shared")
    return serve_pool(std::atoi(argv[2]), std::atoi(argv[3]),
                      std::chrono::microseconds(std::strtoll(argv[4], nullptr, 10)),
                      argc == 6 ? unsigned(std::strtoul(argv[5], nullptr, 10)) : 0u);
  if (argc != 6) {
    std::fprintf(stderr,
                 "usage: vgpu-cuda-session FD DEVICE PRIORITY QUOTA_BYTES POLL_US\n"
                 "       vgpu-cuda-session --shared CONTROL_FD DEVICE POLL_US [HIGH_RESERVED_SMS]\n"
                 "(started by the cuda executor for guest CUDA programs)\n");
    return 2;
  }
  Setup setup{std::atoi(argv[1]), std::atoi(argv[2]), std::atoi(argv[3]),
              std::strtoull(argv[4], nullptr, 10)};
  const std::chrono::microseconds poll(std::strtoll(argv[5], nullptr, 10));
  // Warm up before the first request: the driver loaded and the context made, so that a spare
  // process (remote_spare_session) costs its program nothing at open. Without a usable GPU the
  // open says why.
  CUcontext ready = nullptr;
  try {
    ready = RemoteSession::make_context(setup.device);
  } catch (const std::exception&) {
  }
  return serve(setup.fd, poll, setup, [&](const Setup& terms) {
    if (ready) {
      const CUcontext context = std::exchange(ready, nullptr);
      return std::make_unique<RemoteSession>(RemoteSession::Owned{context}, terms.priority,
                                             terms.quota);
    }
    return std::make_unique<RemoteSession>(terms.device, terms.priority, terms.quota);
  });
}
