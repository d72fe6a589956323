#include "plot.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace vgpu::sim {

void plot_report(const Report& report, const std::string& policy,
                 const std::filesystem::path& png) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0)
    throw std::runtime_error("--plot needs gnuplot: apt-get install gnuplot-nox");
  const auto data = std::filesystem::path(png).replace_extension(".dat");
  const auto script = std::filesystem::path(png).replace_extension(".gp");
  {
    std::ofstream out(data);
    out << "# vm share% entitled% p50_ms p99_ms\n";
    for (const auto& g : report.vms)
      out << '"' << g.name << "\" " << 100 * g.share << ' ' << 100 * g.entitlement << ' '
          << g.p50_wait_ms << ' ' << g.p99_wait_ms << '\n';
  }
  char jain_text[16];
  std::snprintf(jain_text, sizeof jain_text, "%.3f", report.jain_index);
  {
    std::ofstream gp(script);
    gp << "set terminal pngcairo size 1200,500 noenhanced\n"
       << "set output '" << png.string() << "'\n"
       << "set multiplot layout 1,2 title 'policy " << policy << " (Jain index " << jain_text
       << " against the weights)'\n"
       << "set key outside bottom center horizontal\n"
       << "set style data histograms\nset style histogram clustered gap 1\n"
       << "set style fill solid 0.8 border -1\nset xtics rotate by -30\nset grid ytics\n"
       << "set ylabel 'executor time (%)'\nset title 'share vs entitlement'\nset yrange [0:*]\n"
       << "plot '" << data.string()
       << "' using 2:xtic(1) title 'share', '' using 3 title 'entitled'\n"
       << "set ylabel 'wait (ms)'\nset title 'waits'\nset logscale y\nset yrange [*:*]\n"
       << "plot '" << data.string() << "' using 4:xtic(1) title 'p50', '' using 5 title 'p99'\n"
       << "unset multiplot\n";
  }
  const std::string command = "gnuplot '" + script.string() + "' 2>&1";
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("gnuplot failed on " + script.string());
  std::filesystem::remove(data);
  std::filesystem::remove(script);
}

}  // namespace vgpu::sim
