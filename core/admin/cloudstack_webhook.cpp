#include "cloudstack_webhook.hpp"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "cloudstack_api.hpp"
#include "http_listener.hpp"

namespace vgpu::admin::cloudstack {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

WebhookAnswer judge_delivery(const std::map<std::string, std::string>& headers,
                             const std::string& body, const std::string& secret) {
  auto header = [&](const char* name) {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  };
  if (!secret.empty()) {
    const auto given = header("x-cs-signature");
    if (given.empty()) return {401, "no X-CS-Signature: this webhook needs its secret key"};
    if (!equal_in_constant_time(given, hmac_sha256_base64(secret, body)))
      return {401, "X-CS-Signature does not match the body"};
  }
  nlohmann::json event;
  try {
    event = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    return {400, "the body is not JSON"};
  }
  if (!event.is_object()) return {400, "the body is not a JSON object"};
  WebhookAnswer answer{200, "ok"};
  // The event type is in the payload ("event") and in X-CS-Event; either will do.
  answer.event = event.contains("event") && event["event"].is_string()
                     ? event["event"].get<std::string>()
                     : header("x-cs-event");
  // Only a finished action changes what CloudStack will answer a sync; "Started" and
  // "Scheduled" come first for the same action.
  const auto status = event.contains("status") && event["status"].is_string()
                          ? event["status"].get<std::string>()
                          : std::string("Completed");
  answer.vm_event = answer.event.rfind("VM.", 0) == 0 && status == "Completed";
  return answer;
}

namespace {

constexpr auto kTimeout = std::chrono::seconds(5);
constexpr std::uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr std::uint64_t kMaxBodyBytes = 64 * 1024;

class Delivery : public std::enable_shared_from_this<Delivery> {
 public:
  Delivery(tcp::socket socket, const std::string& secret,
           const std::function<void(const WebhookAnswer&)>& on_delivery)
      : stream_(std::move(socket)), secret_(secret), on_delivery_(on_delivery) {
    parser_.header_limit(kMaxHeaderBytes);
    parser_.body_limit(kMaxBodyBytes);
  }
  void run() {
    stream_.expires_after(kTimeout);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->answer(ec); });
  }

 private:
  void answer(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout) return;
    WebhookAnswer verdict;
    if (ec == http::error::body_limit) {
      verdict = {413, "a delivery is at most 64 KiB"};
    } else if (ec) {
      verdict = {400, "bad request: " + ec.message()};
    } else if (parser_.get().method() != http::verb::post) {
      verdict = {405, "deliveries are POSTs"};
    } else {
      std::map<std::string, std::string> headers;
      for (const auto& field : parser_.get()) {
        std::string name(field.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        headers[name] = std::string(field.value());
      }
      verdict = judge_delivery(headers, parser_.get().body(), secret_);
      try {
        on_delivery_(verdict);
      } catch (const std::exception&) {
        // The delivery was taken; what the handler does with it is its own business.
      }
    }
    response_.version(11);
    response_.keep_alive(false);
    response_.result(static_cast<http::status>(verdict.status));
    response_.set(http::field::content_type, "text/plain");
    if (verdict.status == 405) response_.set(http::field::allow, "POST");
    response_.body() = verdict.message + "\n";
    response_.prepare_payload();
    stream_.expires_after(kTimeout);
    http::async_write(stream_, response_,
                      [self = shared_from_this()](beast::error_code, std::size_t) {
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{kMaxHeaderBytes + kMaxBodyBytes};
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
  const std::string& secret_;
  const std::function<void(const WebhookAnswer&)>& on_delivery_;
};

}  // namespace

struct WebhookServer::Impl {
  std::string address, secret;
  unsigned short port = 0;
  std::function<void(const WebhookAnswer&)> on_delivery;
  core::HttpListener listener{[this](tcp::socket socket) {
    std::make_shared<Delivery>(std::move(socket), secret, on_delivery)->run();
  }};
};

WebhookServer::WebhookServer(std::string address, unsigned short port, std::string secret,
                             std::function<void(const WebhookAnswer&)> on_delivery)
    : impl_(std::make_unique<Impl>()) {
  impl_->address = std::move(address);
  impl_->port = port;
  impl_->secret = std::move(secret);
  impl_->on_delivery = std::move(on_delivery);
}

WebhookServer::~WebhookServer() {
  stop();
}

void WebhookServer::start() {
  impl_->listener.start(impl_->address, impl_->port, "webhook");
}

void WebhookServer::stop() {
  if (impl_) impl_->listener.stop();
}

unsigned short WebhookServer::port() const {
  return impl_->listener.local_endpoint().port();
}

}  // namespace vgpu::admin::cloudstack
