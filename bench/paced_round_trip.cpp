// What a round trip between two processes costs at a probe's pace, without any vgpu code: a
// loopback TCP socket (both ends polling) against one shared cache line (both ends spinning).
// This is what decided the rings (docs/decisions.md, "Rings in shared memory"): on the H100
// host the socket went cold between requests 10 ms apart, the cache line did not.
// Usage: vgpu-bench-paced-round-trip [INTERVAL_US=10000] [COUNT=400] [sleep|spin]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <new>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct SharedLines {
  alignas(64) std::atomic<std::uint64_t> request{0};
  alignas(64) std::atomic<std::uint64_t> response{0};
};
constexpr std::uint64_t kStop = ~0ull;

int connected_pair(int& server_side) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(listener, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
      ::listen(listener, 1) != 0 ||
      ::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0)
    return -1;
  const int client = ::socket(AF_INET, SOCK_STREAM, 0);
  if (::connect(client, reinterpret_cast<sockaddr*>(&address), length) != 0) return -1;
  server_side = ::accept(listener, nullptr, nullptr);
  ::close(listener);
  const int one = 1;
  for (int fd : {client, server_side}) {
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
  }
  return client;
}

// The other process: answers both the cache line and the socket, spinning on both.
[[noreturn]] void echo(SharedLines& lines, int socket) {
  std::uint64_t seen = 0;
  char buffer[64];
  for (;;) {
    const std::uint64_t r = lines.request.load(std::memory_order_acquire);
    if (r != seen) {
      if (r == kStop) ::_exit(0);
      seen = r;
      lines.response.store(r, std::memory_order_release);
    }
    const ssize_t n = ::recv(socket, buffer, sizeof buffer, 0);
    if (n > 0) ::send(socket, buffer, static_cast<std::size_t>(n), 0);
    if (n == 0) ::_exit(0);
  }
}

void report(const char* name, std::vector<double> us) {
  std::sort(us.begin(), us.end());
  std::printf("%-14s p50 %8.2f us   p99 %8.2f us   max %8.2f us\n", name, us[us.size() / 2],
              us[us.size() * 99 / 100], us.back());
}

}  // namespace

int main(int argc, char** argv) {
  const int interval_us = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int count = argc > 2 ? std::atoi(argv[2]) : 400;
  const bool spin_pace = argc > 3 && !std::strcmp(argv[3], "spin");
  auto* lines = static_cast<SharedLines*>(::mmap(
      nullptr, sizeof(SharedLines), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  int server_side = -1;
  const int client = connected_pair(server_side);
  if (lines == MAP_FAILED || client < 0 || count < 1) {
    std::fprintf(stderr, "vgpu-bench-paced-round-trip: setup failed: %s\n", std::strerror(errno));
    return 1;
  }
  new (lines) SharedLines;
  const pid_t child = ::fork();
  if (child == 0) echo(*lines, server_side);
  ::close(server_side);

  auto wait_until = [&](Clock::time_point t) {
    if (!spin_pace) return std::this_thread::sleep_until(t);
    while (Clock::now() < t) {
    }
  };
  std::vector<double> line_us, socket_us;
  auto next = Clock::now();
  for (int i = 1; i <= count; ++i) {
    next += std::chrono::microseconds(interval_us);
    wait_until(next);
    auto start = Clock::now();
    lines->request.store(i, std::memory_order_release);
    while (lines->response.load(std::memory_order_acquire) != std::uint64_t(i)) {
    }
    line_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());

    next += std::chrono::microseconds(interval_us);
    wait_until(next);
    char bytes[32] = {1};
    start = Clock::now();
    ::send(client, bytes, sizeof bytes, 0);
    for (std::size_t got = 0; got < sizeof bytes;) {
      const ssize_t n = ::recv(client, bytes, sizeof bytes - got, 0);
      if (n > 0) got += static_cast<std::size_t>(n);
    }
    socket_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
  }
  lines->request.store(kStop, std::memory_order_release);
  ::close(client);
  ::waitpid(child, nullptr, 0);
  std::printf("round trips every %d us (%s between them), %d each:\n", interval_us,
              spin_pace ? "spinning" : "sleeping", count);
  report("cache line", line_us);
  report("loopback tcp", socket_us);
  return 0;
}
