#include "http_listener.hpp"

#include <stdexcept>

namespace vgpu::core {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

void HttpListener::start(const std::string& address, unsigned short port, const std::string& what) {
  try {
    const tcp::endpoint where(asio::ip::make_address(address), port);
    acceptor_.open(where.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(where);
    acceptor_.listen();
  } catch (const std::exception& e) {
    throw std::runtime_error(what + ": cannot listen on " + address + ":" + std::to_string(port) +
                             ": " + e.what());
  }
  accept();
  thread_ = std::thread([this] { io_.run(); });
}

void HttpListener::accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (!acceptor_.is_open()) return;
    if (!ec) serve_(std::move(socket));
    accept();
  });
}

void HttpListener::stop() {
  if (!thread_.joinable()) return;
  asio::post(io_, [this] {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    io_.stop();
  });
  thread_.join();
}

tcp::endpoint HttpListener::local_endpoint() const {
  boost::system::error_code ec;
  const auto local = acceptor_.local_endpoint(ec);
  return ec ? tcp::endpoint{} : local;
}

}  // namespace vgpu::core
