#include "mediator_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

namespace vgpu::testing {

using namespace std::chrono_literals;

CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buf{};
  while (auto n = std::fread(buf.data(), 1, buf.size(), pipe)) result.output.append(buf.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::filesystem::path build_dir() {
  return VGPU_BUILD_DIR;
}
std::filesystem::path program(const std::string& name) {
  return build_dir() / "bin" / name;
}

CommandResult check_executors_config(const std::filesystem::path& dir,
                                     const std::string& executors_yaml) {
  std::ofstream(dir / "m.yaml") << "database:\n  path: vgpu.db\ntransports:\n  - plugin: tcp\n"
                                << "    port: 0\npolicy:\n  plugin: fifo\nexecutors:\n"
                                << executors_yaml;
  return run_command(program("vgpu-mediator").string() + " --check-config --config " +
                     (dir / "m.yaml").string());
}

MediatorProcess::MediatorProcess(std::vector<TestVm> vms, std::string extra_yaml,
                                 std::string policy, unsigned workers, std::string extra_transports,
                                 std::string executors)
    : vms_(std::move(vms)) {
  static int counter = 0;
  dir_ = std::filesystem::temp_directory_path() /
         ("vgpu-it-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  const std::string admin = program("vgpu-admin").string() + " --db " + db().string();
  for (auto& vm : vms_) {
    auto reg = run_command(admin + " register-vm --vm-uuid uuid-" + vm.name + " --name " + vm.name +
                           " --pool " + vm.pool + " --priority " + vm.priority);
    if (reg.exit_code != 0) throw std::runtime_error("register-vm failed: " + reg.output);
    auto at = reg.output.find("vm_id ");
    vm.vm_id = static_cast<std::uint32_t>(std::stoul(reg.output.substr(at + 6)));
    if (vm.with_token) {
      auto tok = run_command(admin + " issue-token " + vm.name + " 2>/dev/null");
      vm.token = tok.output.substr(0, 32);
    }
  }
  std::ofstream(dir_ / "mediator.yaml")
      << "database:\n  path: vgpu.db\n  reload_interval_ms: 100\n"
      << "transports:\n  - plugin: tcp\n    listen: 127.0.0.1\n    port: 0\n"
      << extra_transports << "policy:\n  plugin: " << policy << "\n"
      << "executors:\n"
      << (executors.empty() ? "  - plugin: cpu\n    workers: " + std::to_string(workers) + "\n"
                            : executors)
      << "admin:\n  socket: admin.sock\n"
      << extra_yaml;
  launch();
}

void MediatorProcess::restart() {
  if (running()) throw std::runtime_error("restart() while the mediator runs");
  launch();
}

void MediatorProcess::launch() {
  std::filesystem::remove(dir_ / "ready.json");
  pid_ = ::fork();
  if (pid_ == 0) {
    const std::string log = (dir_ / "mediator.log").string();
    // The child writes only to its log; without it there is nothing to run for.
    if (!std::freopen(log.c_str(), "a", stderr) || !std::freopen(log.c_str(), "a", stdout))
      ::_exit(126);
    const std::string exe = program("vgpu-mediator").string();
    const std::string config = (dir_ / "mediator.yaml").string();
    const std::string ready = (dir_ / "ready.json").string();
    ::execl(exe.c_str(), exe.c_str(), "--config", config.c_str(), "--ready-file", ready.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (std::filesystem::exists(dir_ / "ready.json")) {
      auto ready = nlohmann::json::parse(std::ifstream(dir_ / "ready.json"));
      const std::string ep = ready["endpoints"][0];
      port_ = static_cast<std::uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
      metrics_url_ = ready.value("metrics", "");
      return;
    }
    if (!running()) break;
    std::this_thread::sleep_for(20ms);
  }
  throw std::runtime_error("vgpu-mediator did not start:\n" + log());
}

MediatorProcess::~MediatorProcess() {
  if (running()) stop(SIGKILL, 5);
  if (!::testing::Test::HasFailure()) std::filesystem::remove_all(dir_);
}

const TestVm& MediatorProcess::vm(const std::string& name) const {
  for (const auto& v : vms_)
    if (v.name == name) return v;
  throw std::runtime_error("no test VM " + name);
}

bool MediatorProcess::running() const {
  if (pid_ <= 0) return false;
  int status = 0;
  return ::waitpid(pid_, &status, WNOHANG) == 0;
}

int MediatorProcess::stop(int sig, int timeout_s) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, sig);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

nlohmann::json MediatorProcess::stats() const {
  const auto path = (dir_ / "admin.sock").string();
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot reach the admin socket " + path);
  }
  std::string text;
  char buf[4096];
  while (auto n = ::read(fd, buf, sizeof buf)) {
    if (n < 0) break;
    text.append(buf, n);
  }
  ::close(fd);
  return nlohmann::json::parse(text);
}

std::string MediatorProcess::log() const {
  std::ifstream in(dir_ / "mediator.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace vgpu::testing
