// Apache CloudStack's API as vgpu-admin reads it: signed GET requests (the developer guide,
// "Signing API Requests": every value URL-encoded with spaces as %20, the whole command string
// lower-cased and sorted by field, HMAC-SHA1 with the user's secret key, Base64), JSON answers
// wrapped in "<command>response", errors as {"errorcode": N, "errortext": "..."} inside it.
#pragma once

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace vgpu::admin::cloudstack {

class ApiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// RFC 3986 unreserved characters stay, everything else becomes %XX (a space is %20).
std::string url_encode(std::string_view text);
std::string base64(const unsigned char* data, std::size_t size);
// The `signature` parameter's value (before URL encoding) for these parameters.
std::string sign(const std::map<std::string, std::string>& params, const std::string& secret_key);
// Base64 of HMAC-SHA256(key, data): what CloudStack's webhooks send as X-CS-Signature.
std::string hmac_sha256_base64(const std::string& key, std::string_view data);
// Compares in time independent of where the strings differ.
bool equal_in_constant_time(std::string_view a, std::string_view b);

// Reading an answer's items: a string field, "" when it is missing or not a string; and one
// entry of a details map (`map_key`: "details" on VMs, "serviceofferingdetails" on offerings).
std::string string_field(const nlohmann::json& item, const char* key);
std::optional<std::string> detail(const nlohmann::json& item, const char* map_key,
                                  const std::string& name);

struct Endpoint {
  bool tls = false;
  std::string host;
  std::string port;
  std::string path;  // e.g. /client/api
};
// http://host[:port]/path or https://...; throws ApiError naming what is wrong.
Endpoint parse_url(const std::string& url);

class Client {
 public:
  Client(const std::string& api_url, std::string api_key, std::string secret_key,
         bool tls_verify = true, std::chrono::seconds timeout = std::chrono::seconds(30));

  // The command's answer object ("listvirtualmachinesresponse"'s value). Throws ApiError with
  // CloudStack's errortext, or what went wrong on the way.
  nlohmann::json call(const std::string& command, std::map<std::string, std::string> params = {});
  // Every item of a list command (`item_key`: "virtualmachine"), page by page.
  std::vector<nlohmann::json> list_all(const std::string& command,
                                       std::map<std::string, std::string> params,
                                       const std::string& item_key, std::size_t page_size = 500);

 private:
  std::string get(const std::string& target);

  Endpoint endpoint_;
  std::string api_key_, secret_key_;
  bool tls_verify_;
  std::chrono::seconds timeout_;
};

}  // namespace vgpu::admin::cloudstack
