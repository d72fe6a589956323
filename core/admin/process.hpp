// Runs an external program (xe, virsh, xl) without a shell: arguments are passed as they are,
// so a VM name or an argument with spaces or quotes cannot turn into a command.
#pragma once

#include <string>
#include <vector>

namespace vgpu::admin {

struct ProcessResult {
  int exit_code = -1;  // 127: the program was not found
  std::string out;     // stdout
  std::string err;     // stderr
};

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& stdin_text = "");
bool on_path(const std::string& program);

// Runs `tool args...`; throws E naming the tool (and `missing_hint` when it is not installed)
// with the tool's own error text when it exits non-zero.
template <typename E>
ProcessResult run_tool(const std::string& tool, const std::vector<std::string>& args,
                       const std::string& missing_hint) {
  std::vector<std::string> argv{tool};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_process(argv);
  if (r.exit_code == 127) throw E(tool + " not found on PATH (" + missing_hint + ")");
  if (r.exit_code != 0)
    throw E(tool + " " + args.front() + " failed (exit " + std::to_string(r.exit_code) +
            "): " + (r.err.empty() ? r.out : r.err));
  return r;
}

}  // namespace vgpu::admin
