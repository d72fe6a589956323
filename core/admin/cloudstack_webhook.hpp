// The receiving end of a CloudStack webhook (createWebhook, CloudStack 4.20+): CloudStack POSTs
// one event per delivery, signed when the webhook has a secret key (X-CS-Signature: Base64 of
// HMAC-SHA256 of the body), and retries until it gets HTTP 200. A VM event makes the next sync
// run now; the periodic sync is the safety net for deliveries that never come.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace vgpu::admin::cloudstack {

struct WebhookAnswer {
  int status = 200;       // 200 taken (also for events we do not need), 400, 401, 405, 413
  std::string message;    // the body, one line
  bool vm_event = false;  // a VM's life changed: sync now
  std::string event;      // e.g. "VM.START", for the log
};

// Checks and reads one delivery. `headers` by lower-cased name. With a secret, a delivery
// without a valid X-CS-Signature is refused (401) and never read.
WebhookAnswer judge_delivery(const std::map<std::string, std::string>& headers,
                             const std::string& body, const std::string& secret);

// One thread; POST only; 64 KiB bodies, 8 KiB headers, 5 s per delivery.
class WebhookServer {
 public:
  WebhookServer(std::string address, unsigned short port, std::string secret,
                std::function<void(const WebhookAnswer&)> on_delivery);
  ~WebhookServer();
  void start();  // throws std::runtime_error naming the address when it cannot bind
  void stop();
  unsigned short port() const;  // the bound one

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vgpu::admin::cloudstack
