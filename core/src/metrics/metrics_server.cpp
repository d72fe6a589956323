#include "metrics_server.hpp"

#include "../http_listener.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>
#include <thread>

namespace vgpu::core::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(5);
constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;

// One connection: read a request, answer it, close. Lives as long as its handlers hold it.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(tcp::socket socket, const std::function<std::string()>& render)
      : stream_(std::move(socket)), render_(render) {
    parser_.header_limit(kMaxHeaderBytes);
    parser_.body_limit(0);  // a scrape has no body
  }

  void run() {
    stream_.expires_after(kRequestTimeout);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->answer(ec); });
  }

 private:
  void answer(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return;
    auto& req = parser_.get();
    response_.version(11);
    response_.keep_alive(false);
    response_.set(http::field::server, "vgpu-mediator");
    if (ec) {
      response_.result(http::status::bad_request);
      response_.set(http::field::content_type, "text/plain");
      response_.body() = "bad request: " + ec.message() + "\n";
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      response_.result(http::status::method_not_allowed);
      response_.set(http::field::allow, "GET, HEAD");
      response_.body() = "only GET /metrics\n";
    } else if (req.target() != "/metrics" && req.target().rfind("/metrics?", 0) != 0) {
      response_.result(http::status::not_found);
      response_.set(http::field::content_type, "text/plain");
      response_.body() = "not found: this endpoint serves /metrics\n";
    } else {
      response_.result(http::status::ok);
      response_.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      try {
        if (req.method() == http::verb::get) response_.body() = render_();
      } catch (const std::exception& e) {
        response_.result(http::status::internal_server_error);
        response_.body() = std::string("metrics unavailable: ") + e.what() + "\n";
      }
    }
    response_.prepare_payload();
    stream_.expires_after(kRequestTimeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{kMaxHeaderBytes};
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
  const std::function<std::string()>& render_;
};

}  // namespace

struct MetricsServer::Impl {
  std::string address;
  unsigned short port;
  std::function<std::string()> render;
  HttpListener listener{
      [this](tcp::socket socket) { std::make_shared<Exchange>(std::move(socket), render)->run(); }};
};

MetricsServer::MetricsServer(std::string address, unsigned short port,
                             std::function<std::string()> render)
    : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->port = port;
  impl_->render = std::move(render);
}

MetricsServer::~MetricsServer() {
  stop();
}

void MetricsServer::start() {
  impl_->listener.start(impl_->address, impl_->port, "metrics");
}

void MetricsServer::stop() {
  if (impl_) impl_->listener.stop();
}

std::string MetricsServer::endpoint() const {
  const auto local = impl_->listener.local_endpoint();
  if (local.port() == 0) return {};
  const auto host = local.address().is_v6() ? "[" + local.address().to_string() + "]"
                                            : local.address().to_string();
  return "http://" + host + ":" + std::to_string(local.port()) + "/metrics";
}

}  // namespace vgpu::core::metrics
