#include "cloudstack_command.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <iostream>
#include <mutex>
#include <thread>

#include "cloudstack_sync.hpp"
#include "cloudstack_webhook.hpp"

namespace vgpu::admin {

namespace {

std::atomic<bool> g_stop{false};

void log(const std::string& line) {
  std::cout << "vgpu-admin cloudstack: " << line << std::endl;  // a service's journal line
}

void print(const cloudstack::SyncReport& r) {
  log("sync: " + r.summary());
  for (const auto& id : r.registered) log("registered " + id);
  for (const auto& id : r.updated) log("updated " + id);
  for (const auto& id : r.removed) log("removed " + id);
  for (const auto& id : r.configured) log("KVM extraconfig set for " + id);
  for (const auto& why : r.skipped) log("skipped " + why);
}

}  // namespace

int cloudstack_sync(Admin& a, const std::string& config) {
  const auto settings = cloudstack::load_settings(config);
  cloudstack::Client client(settings.api_url, settings.api_key, settings.secret_key,
                            settings.tls_verify);
  try {
    print(cloudstack::sync_once(client, a.db, settings));
  } catch (const cloudstack::ApiError& e) {
    std::cerr << "vgpu-admin: cloudstack: " << e.what() << "\n";
    return kCloudStackUnavailable;
  }
  return kOk;
}

int cloudstack_serve(Admin& a, const std::string& config) {
  const auto settings = cloudstack::load_settings(config);
  cloudstack::Client client(settings.api_url, settings.api_key, settings.secret_key,
                            settings.tls_verify);
  std::mutex mutex;
  std::condition_variable wake;
  bool sync_now = true;
  std::unique_ptr<cloudstack::WebhookServer> webhook;
  if (settings.webhook_port) {
    webhook = std::make_unique<cloudstack::WebhookServer>(
        settings.webhook_listen, *settings.webhook_port, settings.webhook_secret,
        [&](const cloudstack::WebhookAnswer& delivery) {
          if (delivery.status != 200) {
            log("webhook delivery refused (" + std::to_string(delivery.status) +
                "): " + delivery.message);
            return;
          }
          if (!delivery.vm_event) return;
          log("webhook: " + delivery.event + ": syncing");
          {
            std::lock_guard lock(mutex);
            sync_now = true;
          }
          wake.notify_all();
        });
    webhook->start();
    log("webhook listening on " + settings.webhook_listen + ":" + std::to_string(webhook->port()) +
        (settings.webhook_secret.empty() ? " (unsigned deliveries accepted)" : ""));
  }
  std::signal(SIGTERM, [](int) { g_stop = true; });
  std::signal(SIGINT, [](int) { g_stop = true; });
  auto next = std::chrono::steady_clock::now();
  while (!g_stop) {
    {
      std::unique_lock lock(mutex);
      // Signals cannot notify a condition variable: look at the flag five times a second.
      while (!g_stop && !sync_now && std::chrono::steady_clock::now() < next)
        wake.wait_for(lock, std::chrono::milliseconds(200));
      if (g_stop) break;
      sync_now = false;
    }
    try {
      print(cloudstack::sync_once(client, a.db, settings));
    } catch (const std::exception& e) {
      log("sync failed (tried again in " + std::to_string(settings.sync_interval.count()) +
          " s or at the next VM event): " + e.what());
    }
    next = std::chrono::steady_clock::now() + settings.sync_interval;
  }
  if (webhook) webhook->stop();
  log("stopped");
  return kOk;
}

}  // namespace vgpu::admin
