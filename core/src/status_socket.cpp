#include "status_socket.hpp"

#include <boost/asio.hpp>

#include <thread>

namespace vgpu::core {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

struct StatusSocket::Impl {
  std::filesystem::path path;
  std::function<std::string()> report;
  asio::io_context io;
  local::acceptor acceptor{io};
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, local::socket socket) {
      if (ec) return;
      auto text = std::make_shared<std::string>(report() + "\n");
      auto s = std::make_shared<local::socket>(std::move(socket));
      asio::async_write(*s, asio::buffer(*text), [s, text](boost::system::error_code, std::size_t) {
        boost::system::error_code ignored;
        s->close(ignored);
      });
      accept();
    });
  }
};

StatusSocket::StatusSocket(std::filesystem::path socket, std::function<std::string()> report)
    : impl_(std::make_unique<Impl>()) {
  impl_->path = std::move(socket);
  impl_->report = std::move(report);
}

StatusSocket::~StatusSocket() {
  stop();
}

void StatusSocket::start() {
  // A socket file left by a killed mediator would make bind fail.
  std::error_code ignored;
  std::filesystem::remove(impl_->path, ignored);
  impl_->acceptor.open();
  impl_->acceptor.bind(local::endpoint(impl_->path.string()));
  std::filesystem::permissions(impl_->path, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, ignored);
  impl_->acceptor.listen();
  impl_->accept();
  impl_->thread = std::thread([this] { impl_->io.run(); });
}

void StatusSocket::stop() {
  if (!impl_ || !impl_->thread.joinable()) return;
  asio::post(impl_->io, [this] {
    boost::system::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->thread.join();
  std::error_code ignored;
  std::filesystem::remove(impl_->path, ignored);
}

}  // namespace vgpu::core
