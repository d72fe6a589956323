// A minimal HTTP/1.1 client for tests: one GET (or another method) to a URL on this host, the
// status and body back. Real sockets, no curl needed on the test machine.
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <stdexcept>
#include <string>

namespace vgpu::testing {

struct HttpReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

// `url`: "http://host:port/path?query". `raw_request`, when given, is sent as is instead.
inline HttpReply http_request(const std::string& url,
                              boost::beast::http::verb method = boost::beast::http::verb::get) {
  namespace asio = boost::asio;
  namespace http = boost::beast::http;
  const std::string prefix = "http://";
  if (url.rfind(prefix, 0) != 0) throw std::invalid_argument("not an http URL: " + url);
  const auto slash = url.find('/', prefix.size());
  const std::string hostport = url.substr(prefix.size(), slash - prefix.size());
  const std::string target = slash == std::string::npos ? "/" : url.substr(slash);
  const auto colon = hostport.rfind(':');
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  socket.connect({asio::ip::make_address(hostport.substr(0, colon)),
                  static_cast<unsigned short>(std::stoi(hostport.substr(colon + 1)))});
  http::request<http::empty_body> req{method, target, 11};
  req.set(http::field::host, hostport);
  req.keep_alive(false);
  http::write(socket, req);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64u << 20);
  http::read(socket, buffer, parser);
  const auto& res = parser.get();
  return {res.result_int(), std::string(res[http::field::content_type]), res.body()};
}

inline std::string http_get(const std::string& url) {
  auto reply = http_request(url);
  if (reply.status != 200)
    throw std::runtime_error("GET " + url + ": HTTP " + std::to_string(reply.status) + ": " +
                             reply.body);
  return reply.body;
}

// Percent-encodes a query parameter's value.
inline std::string url_encode(const std::string& text) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace vgpu::testing
