#include "cloudstack_api.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>

namespace vgpu::admin::cloudstack {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t kMaxResponseBytes = 64u << 20;  // a page of 500 VMs is a few MB

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string hmac_base64(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(md, key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &length))
    throw ApiError("HMAC failed (OpenSSL)");
  return base64(out, length);
}

}  // namespace

std::string url_encode(std::string_view text) {
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

std::string base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(std::max(n, 0)));
  return out;
}

std::string sign(const std::map<std::string, std::string>& params, const std::string& secret_key) {
  // Sorted by the lower-cased field; the whole "field=value&..." string lower-cased.
  std::vector<std::pair<std::string, std::string>> fields;
  for (const auto& [k, v] : params) fields.emplace_back(lower(k), url_encode(v));
  std::sort(fields.begin(), fields.end());
  std::string command;
  for (const auto& [k, v] : fields) command += (command.empty() ? "" : "&") + k + "=" + v;
  return hmac_base64(EVP_sha1(), secret_key, lower(command));
}

std::string hmac_sha256_base64(const std::string& key, std::string_view data) {
  return hmac_base64(EVP_sha256(), key, data);
}

bool equal_in_constant_time(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string string_field(const nlohmann::json& item, const char* key) {
  return item.contains(key) && item[key].is_string() ? item[key].get<std::string>() : "";
}

std::optional<std::string> detail(const nlohmann::json& item, const char* map_key,
                                  const std::string& name) {
  if (!item.contains(map_key) || !item[map_key].is_object()) return std::nullopt;
  const auto& map = item[map_key];
  if (!map.contains(name) || !map[name].is_string()) return std::nullopt;
  return map[name].get<std::string>();
}

Endpoint parse_url(const std::string& url) {
  Endpoint e;
  std::string rest;
  if (url.rfind("https://", 0) == 0) {
    e.tls = true;
    rest = url.substr(8);
  } else if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else {
    throw ApiError("api_url '" + url + "' must start with http:// or https://");
  }
  const auto slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  e.path = slash == std::string::npos ? "/client/api" : rest.substr(slash);
  const auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    e.host = authority.substr(0, colon);
    e.port = authority.substr(colon + 1);
  } else {
    e.host = authority;
    e.port = e.tls ? "443" : "80";
  }
  if (e.host.empty() || e.port.empty() ||
      e.port.find_first_not_of("0123456789") != std::string::npos)
    throw ApiError("api_url '" + url + "' has no usable host and port");
  return e;
}

Client::Client(const std::string& api_url, std::string api_key, std::string secret_key,
               bool tls_verify, std::chrono::seconds timeout)
    : endpoint_(parse_url(api_url)),
      api_key_(std::move(api_key)),
      secret_key_(std::move(secret_key)),
      tls_verify_(tls_verify),
      timeout_(timeout) {}

std::string Client::get(const std::string& target) {
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  http::request<http::empty_body> request{http::verb::get, target, 11};
  request.set(http::field::host, endpoint_.host);
  request.set(http::field::user_agent, "vgpu-admin");
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  try {
    const auto addresses = resolver.resolve(endpoint_.host, endpoint_.port);
    if (!endpoint_.tls) {
      beast::tcp_stream stream(io);
      stream.expires_after(timeout_);
      stream.connect(addresses);
      http::write(stream, request);
      http::read(stream, buffer, parser);
    } else {
      asio::ssl::context tls(asio::ssl::context::tls_client);
      tls.set_default_verify_paths();
      tls.set_verify_mode(tls_verify_ ? asio::ssl::verify_peer : asio::ssl::verify_none);
      beast::ssl_stream<beast::tcp_stream> stream(io, tls);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), endpoint_.host.c_str()))
        throw ApiError("cannot set the TLS server name");
      if (tls_verify_)
        stream.set_verify_callback(asio::ssl::host_name_verification(endpoint_.host));
      beast::get_lowest_layer(stream).expires_after(timeout_);
      beast::get_lowest_layer(stream).connect(addresses);
      stream.handshake(asio::ssl::stream_base::client);
      http::write(stream, request);
      http::read(stream, buffer, parser);
    }
  } catch (const boost::system::system_error& e) {
    throw ApiError("CloudStack API at " + endpoint_.host + ":" + endpoint_.port + ": " +
                   e.code().message());
  }
  return parser.get().body();
}

nlohmann::json Client::call(const std::string& command, std::map<std::string, std::string> params) {
  params["command"] = command;
  params["response"] = "json";
  params["apiKey"] = api_key_;
  std::string query;
  for (const auto& [k, v] : params) query += (query.empty() ? "" : "&") + k + "=" + url_encode(v);
  query += "&signature=" + url_encode(sign(params, secret_key_));
  const std::string body = get(endpoint_.path + "?" + query);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    throw ApiError(command + ": the answer is not JSON: " + body.substr(0, 200));
  }
  const std::string key = lower(command) + "response";
  if (!doc.is_object() || !doc.contains(key) || !doc[key].is_object())
    throw ApiError(command + ": the answer has no '" + key + "' object: " + body.substr(0, 200));
  const auto& answer = doc[key];
  if (answer.contains("errorcode"))
    throw ApiError(command + " refused (" + answer["errorcode"].dump() +
                   "): " + answer.value("errortext", std::string("no errortext")));
  return answer;
}

std::vector<nlohmann::json> Client::list_all(const std::string& command,
                                             std::map<std::string, std::string> params,
                                             const std::string& item_key, std::size_t page_size) {
  std::vector<nlohmann::json> items;
  params["pagesize"] = std::to_string(page_size);
  for (std::size_t page = 1;; ++page) {
    params["page"] = std::to_string(page);
    const auto answer = call(command, params);
    if (!answer.contains(item_key)) break;  // CloudStack leaves the list out when it is empty
    if (!answer[item_key].is_array())
      throw ApiError(command + ": '" + item_key + "' is not a list");
    for (const auto& item : answer[item_key]) items.push_back(item);
    const auto count = answer.value("count", std::size_t{0});
    if (answer[item_key].size() < page_size || items.size() >= count) break;
    if (page > 100000) throw ApiError(command + ": more than 100000 pages");
  }
  return items;
}

}  // namespace vgpu::admin::cloudstack
