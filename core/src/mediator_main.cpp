// vgpu-mediator: the host daemon. Exit codes: 0 clean stop, 1 runtime failure, 2 bad config.
#include <malloc.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <fstream>
#include <iostream>

#include "isolation/executor_worker.hpp"
#include "mediator.hpp"
#include "plugin_host/settings_reference.hpp"
#include "stage_trace.hpp"

using namespace vgpu::core;

namespace {

// Written once every transport listens, so scripts and tests know where (and that) it is up.
void write_ready_file(const std::filesystem::path& path, Mediator& mediator) {
  nlohmann::json ready{{"pid", ::getpid()},
                       {"endpoints", mediator.endpoints()},
                       {"executor", mediator.executor_name()},
                       {"metrics", mediator.metrics_endpoint()}};
  const auto tmp = path.string() + ".tmp";
  std::ofstream(tmp) << ready.dump() << "\n";
  std::filesystem::rename(tmp, path);
}

}  // namespace

int main(int argc, char** argv) {
  // Buffers of 1 MiB and more (job inputs and outputs) get their own mappings and go back to the
  // system when freed. glibc otherwise raises this threshold after the first large free, serves
  // later ones from its heap, and keeps that memory after a flood of results ends.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  // An executor with `isolation: process` runs in a child started as
  // `vgpu-mediator --executor-worker FD [RINGS_FD]`; it takes no other options and ignores Ctrl-C
  // (the mediator tells it when to stop).
  if ((argc == 3 || argc == 4) && std::string_view(argv[1]) == "--executor-worker") {
    std::signal(SIGINT, SIG_IGN);
    std::signal(SIGPIPE, SIG_IGN);
    return vgpu::core::isolation::run_executor_worker(std::atoi(argv[2]),
                                                      argc == 4 ? std::atoi(argv[3]) : -1);
  }
  CLI::App app{"vgpu-mediator: shares one GPU between VMs by pool and priority"};
  std::string config_path, ready_file, log_level, db_override, admin_override;
  bool check_only = false, describe_plugins = false;
  std::vector<std::string> plugin_dirs;
  app.add_option("-c,--config", config_path, "YAML configuration (default: the embedded one)");
  app.add_flag("--check-config", check_only, "validate the configuration and plugins, then exit");
  app.add_flag("--describe-plugins", describe_plugins,
               "print every plugin's settings (Markdown) from the plugin folders, then exit");
  app.add_option("--plugin-dir", plugin_dirs, "with --describe-plugins: the folder(s) to read");
  app.add_option("--ready-file", ready_file, "write endpoints as JSON here once listening");
  app.add_option("--log-level", log_level, "override log.level (trace..error, off)");
  app.add_option("--db", db_override, "override database.path");
  app.add_option("--admin-socket", admin_override, "override admin.socket");
  CLI11_PARSE(app, argc, argv);

  if (describe_plugins) {
    try {
      // Only the given folders when there are any: a reference of exactly those plugins.
      std::vector<std::filesystem::path> dirs(plugin_dirs.begin(), plugin_dirs.end());
      PluginLoader loader(dirs, dirs.empty() ? PluginLoader::with_defaults : PluginLoader::only);
      write_settings_reference(std::cout, loader.load_all());
      return 0;
    } catch (const PluginLoadError& e) {
      std::cerr << "vgpu-mediator: " << e.what() << "\n";
      return 2;
    }
  }

  // Signals are taken synchronously by the main thread below; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  MediatorConfig config;
  try {
    config = config_path.empty() ? embedded_default_config() : load_config_file(config_path);
  } catch (const ConfigFileError& e) {
    std::cerr << "vgpu-mediator: " << e.what() << "\n";
    return 2;
  }
  if (!db_override.empty()) config.db_path = db_override;
  if (!admin_override.empty()) config.admin_socket = admin_override;
  configure_logging(log_level.empty() ? config.log_level : log_level, config.log_format);

  Mediator mediator(config);
  try {
    if (check_only) {
      mediator.build();
      std::cout << "configuration OK: " << config.source << " (executor "
                << mediator.executor_name() << ", policy " << config.policy.name << ")\n";
      return 0;
    }
    mediator.start();
    if (!ready_file.empty()) write_ready_file(ready_file, mediator);
  } catch (const ConfigFileError& e) {
    std::cerr << "vgpu-mediator: " << e.what() << "\n";
    return 2;
  } catch (const PluginLoadError& e) {
    std::cerr << "vgpu-mediator: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "vgpu-mediator: cannot start: " << e.what() << "\n";
    return 1;
  }

  for (;;) {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      // The configuration file first (the policy may change), then the config DB.
      if (!config_path.empty()) {
        spdlog::info("SIGHUP: reading {} again", config_path);
        try {
          auto next = load_config_file(config_path);
          if (!db_override.empty()) next.db_path = db_override;
          if (!admin_override.empty()) next.admin_socket = admin_override;
          mediator.reload_config(next);
        } catch (const ConfigFileError& e) {
          spdlog::error("reload: the configuration was not changed: {}", e.what());
        }
      }
      spdlog::info("SIGHUP: reloading the config DB");
      mediator.reload_identities();
      continue;
    }
    spdlog::info("{}: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
    break;
  }
  mediator.stop();
  if (const auto* trace = StageTrace::get()) {
    try {
      trace->write();
      spdlog::info("VGPU_STAGE_TRACE: {} jobs written, {} dropped", trace->recorded(),
                   trace->dropped());
    } catch (const std::exception& e) {
      spdlog::error("{}", e.what());
    }
  }
  return 0;
}
