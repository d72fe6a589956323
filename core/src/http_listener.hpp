// A TCP listener on its own thread, for the host-only HTTP endpoints (the metrics endpoint,
// vgpu-admin's CloudStack webhook): it accepts connections and hands each socket to `serve`,
// which runs on the listener's thread and must not block (start async I/O on the socket).
#pragma once

#include <boost/asio.hpp>

#include <functional>
#include <string>
#include <thread>

namespace vgpu::core {

class HttpListener {
 public:
  using Serve = std::function<void(boost::asio::ip::tcp::socket)>;
  explicit HttpListener(Serve serve) : serve_(std::move(serve)) {}
  ~HttpListener() { stop(); }
  // Binds and starts accepting. Throws std::runtime_error "<what>: cannot listen on A:P: ...".
  void start(const std::string& address, unsigned short port, const std::string& what);
  void stop();
  // The bound address and port (the port chosen when 0 was asked); none before start().
  boost::asio::ip::tcp::endpoint local_endpoint() const;

 private:
  void accept();

  Serve serve_;
  boost::asio::io_context io_;
  boost::asio::ip::tcp::acceptor acceptor_{io_};
  std::thread thread_;
};

}  // namespace vgpu::core
