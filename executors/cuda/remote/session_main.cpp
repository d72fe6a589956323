// vgpu-cuda-session: guest programs' CUDA sessions, started by the cuda executor
// (session_process.hpp), in one of two forms:
//   vgpu-cuda-session FD DEVICE PRIORITY QUOTA_BYTES POLL_US
//       one program's session in a process of its own, with its own context: a fault in the
//       program's kernels (an illegal address) loses this process's CUDA state and nothing
//       else (CUDA cannot contain a sticky error to one context of a process: measured on the
//       H100, docs/decisions.md)
//   vgpu-cuda-session --shared CONTROL_FD DEVICE POLL_US
//       the sessions of one shared pool, each on a descriptor received over CONTROL_FD and served
//       by a thread of its own, all in one context: their streams' priorities then order their
//       kernels on the GPU, and a fault in one program's kernels reaches all of them.
#include <cuda.h>

#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

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

Reply failed(std::string text, Outcome outcome = Outcome::failed) {
  Reply r;
  r.outcome = outcome;
  r.body.assign(text.begin(), text.end());
  return r;
}

// Serves one session's requests on `fd` until close or the executor goes away. `make` creates
// the session at open. `poisoned`, when given, is set once a batch leaves the context lost.
template <typename Make>
int serve(int fd, std::chrono::microseconds poll, const Setup& setup, Make make,
          std::atomic<bool>* poisoned = nullptr) {
  std::unique_ptr<RemoteSession> session;
  while (true) {
    // A program's next call usually follows its last answer within microseconds.
    spin_until_readable(fd, poll);
    auto request = read_request(fd);
    if (!request) break;
    Reply reply;
    try {
      switch (request->kind) {
        case SessionRequest::open:
          session = make();
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
        case SessionRequest::close:
          session.reset();
          reply.outcome = Outcome::ok;
          write_reply(fd, reply);
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
    if (!write_reply(fd, reply)) return 1;
  }
  return 0;  // the executor went away
}

// The shared context of a pool's process, made at its first session. After a sticky error in it
// the process takes no new session (it closes the descriptor at once, and the executor starts
// a fresh process for the pool); its sessions keep getting the error until they end.
struct SharedContext {
  std::mutex mutex;
  CUcontext context = nullptr;
  CUcontext get(int device) {
    std::lock_guard lock(mutex);
    if (!context) {
      const auto& d = RemoteDriver::get();
      CUdevice dev = 0;
      if (d.device_get(&dev, device) != CUDA_SUCCESS ||
          d.ctx_create(&context, nullptr, CU_CTX_SCHED_AUTO, dev) != CUDA_SUCCESS)
        throw std::runtime_error("cannot create the pool's CUDA context");
      d.ctx_set_current(nullptr);
    }
    return context;
  }
};

int serve_pool(int control, int device, std::chrono::microseconds poll) {
  SharedContext shared;
  std::atomic<bool> poisoned{false};
  while (auto next = receive_session(control)) {
    if (poisoned) {
      ::close(next->fd);  // the executor sees the session refused and starts a fresh process
      continue;
    }
    std::thread([&shared, &poisoned, next = *next, device, poll] {
      Setup setup{next.fd, device, next.priority, next.quota};
      serve(
          next.fd, poll, setup,
          [&] {
            return std::make_unique<RemoteSession>(shared.get(device), next.priority, next.quota);
          },
          &poisoned);
      ::close(next.fd);
    }).detach();
  }
  // The executor went away: end at once (threads still inside the driver go with the process).
  std::_Exit(0);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::string(argv[1]) == "--shared")
    return serve_pool(std::atoi(argv[2]), std::atoi(argv[3]),
                      std::chrono::microseconds(std::strtoll(argv[4], nullptr, 10)));
  if (argc != 6) {
    std::fprintf(stderr,
                 "usage: vgpu-cuda-session FD DEVICE PRIORITY QUOTA_BYTES POLL_US\n"
                 "       vgpu-cuda-session --shared CONTROL_FD DEVICE POLL_US\n"
                 "(started by the cuda executor for guest CUDA programs)\n");
    return 2;
  }
  Setup setup{std::atoi(argv[1]), std::atoi(argv[2]), std::atoi(argv[3]),
              std::strtoull(argv[4], nullptr, 10)};
  const std::chrono::microseconds poll(std::strtoll(argv[5], nullptr, 10));
  return serve(setup.fd, poll, setup, [&] {
    return std::make_unique<RemoteSession>(setup.device, setup.priority, setup.quota);
  });
}
