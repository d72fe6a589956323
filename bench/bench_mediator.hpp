// An in-process mediator for benchmarks: a scratch folder, a config DB with one VM (vm_id 1,
// pool A, medium, no token), fifo, one CPU worker, and the transports the benchmark names.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "mediator.hpp"

namespace vgpu::bench {

class BenchMediator {
 public:
  // `transports` is the YAML list under `transports:`; the first must be tcp.
  BenchMediator(const std::string& name, const std::string& transports)
      : dir_(std::filesystem::temp_directory_path() / name) {
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    {
      auto db = core::ConfigDb::open(dir_ / "vgpu.db");
      core::VmRecord vm;
      vm.uuid = "bench";
      vm.vm_id = 1;
      db.insert_vm(vm);
    }
    core::configure_logging("warn");
    auto cfg = core::load_config_text(
        "database: {path: vgpu.db}\n"
        "transports:\n" +
            transports +
            "policy: {plugin: fifo}\n"
            "executors: [{plugin: cpu, workers: 1}]\n",
        "bench", dir_);
    mediator_ = std::make_unique<core::Mediator>(cfg);
    mediator_->start();
    const auto ep = mediator_->endpoints().at(0);
    port_ = static_cast<std::uint16_t>(std::stoi(ep.substr(ep.rfind(':') + 1)));
  }
  ~BenchMediator() {
    mediator_->stop();
    std::filesystem::remove_all(dir_);
  }

  const std::filesystem::path& dir() const { return dir_; }
  std::uint16_t port() const { return port_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<core::Mediator> mediator_;
  std::uint16_t port_ = 0;
};

}  // namespace vgpu::bench
