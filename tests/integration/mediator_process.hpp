// Starts a real vgpu-mediator in a scratch folder with a fresh config DB, and stops it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace vgpu::testing {

// Polls `pred` until it holds or `limit` passes; returns its last value.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// What a client call threw (its ClientError text), or "accepted".
template <typename Call>
std::string refusal(Call&& call) {
  try {
    call();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "accepted";
}

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// Runs a command line through the shell and collects its output.
CommandResult run_command(const std::string& command);
std::filesystem::path build_dir();
std::filesystem::path program(const std::string& name);  // build/bin/<name>
// `vgpu-mediator --check-config` on `dir`/m.yaml: a tcp transport and the fifo policy on lines
// 1-8, then `executors:` on line 9 and `executors_yaml` from line 10 (so a test knows the line
// an error names).
CommandResult check_executors_config(const std::filesystem::path& dir,
                                     const std::string& executors_yaml);

struct TestVm {
  std::string name;
  std::string pool;
  std::string priority;  // low | medium | high
  bool with_token = true;
  std::uint32_t vm_id = 0;  // filled in by register
  std::string token;        // filled in by register
};

class MediatorProcess {
 public:
  // Registers the VMs with vgpu-admin, writes a config (policy, one CPU worker unless given),
  // starts the mediator and waits until it listens.
  // `extra_transports` is YAML list items added after the tcp transport.
  // `executors` (YAML list items) replaces the one cpu executor when given.
  MediatorProcess(std::vector<TestVm> vms, std::string extra_yaml = "",
                  std::string policy = "strict_priority", unsigned workers = 1,
                  std::string extra_transports = "", std::string executors = "");
  ~MediatorProcess();

  std::uint16_t port() const { return port_; }
  // "http://127.0.0.1:N/metrics" when the config turned metrics on, else empty.
  const std::string& metrics_url() const { return metrics_url_; }
  const TestVm& vm(const std::string& name) const;
  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path db() const { return dir_ / "vgpu.db"; }

  // The admin endpoint's live statistics.
  nlohmann::json stats() const;
  // Sends `sig` and waits up to `timeout_s` for the exit. Returns the exit code, or -1 for a
  // hang (then the process is killed).
  int stop(int sig, int timeout_s = 15);
  bool running() const;
  pid_t pid() const { return pid_; }
  // Starts the mediator again on the same config and DB (after stop()).
  void restart();
  std::string log() const;

 private:
  void launch();

  std::filesystem::path dir_;
  std::vector<TestVm> vms_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
  std::string metrics_url_;
};

}  // namespace vgpu::testing
