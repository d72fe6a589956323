// vgpu-sim: runs a workload against one or more policy plugins and reports, per VM and pool,
// jobs, waits, executor share and Jain's fairness index. Exit codes: 0 ok, 2 bad input.
#include <CLI/CLI.hpp>

#include <iostream>

#include "plot.hpp"
#include "plugin_host/host_context.hpp"
#include "plugin_host/plugin_loader.hpp"
#include "report.hpp"
#include "spdlog_logger.hpp"

using namespace vgpu;

int main(int argc, char** argv) {
  CLI::App app{"vgpu-sim: a discrete-event simulator for vgpu scheduling policies"};
  std::string workload_file;
  std::vector<std::string> policies{"strict_priority"};
  std::vector<std::filesystem::path> plugin_dirs;
  std::string settings = "{}";
  bool json = false;
  std::string plot;
  app.add_option("workload", workload_file, "workload file (.yaml or .csv)")->required();
  app.add_option("-p,--policy", policies, "policy plugin name(s); each is run on the workload");
  app.add_option("--settings", settings, "the policy's YAML settings, e.g. '{aging_ms: 200}'");
  app.add_option("--plugin-dir", plugin_dirs, "extra folder(s) to find policy plugins in");
  app.add_flag("--json", json, "print JSON");
  app.add_option("--plot", plot,
                 "also draw PNG charts: FILE.png (one per policy: FILE-<policy>.png)");
  CLI11_PARSE(app, argc, argv);

  core::SpdLogger log("");
  core::MetricsRegistry metrics;
  core::PluginLoader loader(plugin_dirs);
  nlohmann::json all = nlohmann::json::array();
  try {
    const auto workload = sim::load_workload(workload_file);
    const YAML::Node node = YAML::Load(settings);
    for (const auto& name : policies) {
      auto lib = loader.load(sdk::PluginKind::policy, name);
      std::unique_ptr<core::HostContext> context;  // outlives the policy made with it
      auto result = sim::simulate(workload, [&](auto now) {
        context = std::make_unique<core::HostContext>(log, metrics, name, now);
        return lib->make_policy(node, *context);
      });
      const auto report = sim::make_report(workload, result);
      if (!plot.empty()) {
        std::filesystem::path png = plot;
        if (policies.size() > 1)
          png.replace_filename(png.stem().string() + "-" + name + png.extension().string());
        sim::plot_report(report, name, png);
        std::cerr << "vgpu-sim: wrote " << png.string() << "\n";
      }
      if (json)
        all.push_back(sim::to_json(report, name));
      else
        std::cout << sim::format_text(report, name) << "\n";
    }
  } catch (const std::exception& e) {
    std::cerr << "vgpu-sim: " << e.what() << "\n";
    return 2;
  }
  if (json) std::cout << all.dump(2) << "\n";
  return 0;
}
