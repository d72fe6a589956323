// vgpu-cuda-session: one guest program's CUDA session in a process of its own, started by the
// cuda executor for each `cuda.open` (session_process.hpp). A fault in the program's kernels
// (an illegal address) loses this process's CUDA state and nothing else: CUDA cannot contain a
// sticky error to one context of a process (measured on the H100, docs/decisions.md).
// usage: vgpu-cuda-session FD DEVICE PRIORITY QUOTA_BYTES POLL_US
#include <cuda.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr,
                 "usage: vgpu-cuda-session FD DEVICE PRIORITY QUOTA_BYTES POLL_US\n"
                 "(started by the cuda executor, one per guest CUDA program)\n");
    return 2;
  }
  Setup setup{std::atoi(argv[1]), std::atoi(argv[2]), std::atoi(argv[3]),
              std::strtoull(argv[4], nullptr, 10)};
  const std::chrono::microseconds poll(std::strtoll(argv[5], nullptr, 10));
  std::unique_ptr<RemoteSession> session;
  while (true) {
    // A program's next call usually follows its last answer within microseconds.
    spin_until_readable(setup.fd, poll);
    auto request = read_request(setup.fd);
    if (!request) break;
    Reply reply;
    try {
      switch (request->kind) {
        case SessionRequest::open: {
          session = std::make_unique<RemoteSession>(setup.device, setup.priority, setup.quota);
          reply.outcome = Outcome::ok;
          reply.body = describe(setup, session->priority_range());
          break;
        }
        case SessionRequest::calls:
          if (!session) {
            reply = failed("no session opened");
            break;
          }
          reply.outcome = Outcome::ok;
          reply.body = cc::encode_answer(session->run(request->body, request->budget));
          break;
        case SessionRequest::close:
          session.reset();
          reply.outcome = Outcome::ok;
          write_reply(setup.fd, reply);
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
    if (!write_reply(setup.fd, reply)) return 1;
  }
  return 0;  // the executor went away: the context goes with this process
}
