// The HTTP listener Prometheus scrapes: GET /metrics answers the text exposition format, every
// other path 404, every other method 405. One I/O thread; a connection that is slow to send its
// request is closed after 5 s and a request header over 8 KiB is refused, so a stray client
// cannot hold the endpoint. It listens where the operator says (`metrics.listen`), meant for a
// host-only address, never a guest-reachable one.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace vgpu::core::metrics {

class MetricsServer {
 public:
  // `render` runs on the server's thread for each scrape and returns the exposition text.
  MetricsServer(std::string address, unsigned short port, std::function<std::string()> render);
  ~MetricsServer();
  // Binds and starts serving. Throws std::runtime_error naming the address when it cannot bind.
  void start();
  void stop();
  // "http://address:port/metrics" once started (the port is the bound one when 0 was asked).
  std::string endpoint() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vgpu::core::metrics
