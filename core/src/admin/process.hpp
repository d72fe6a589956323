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

}  // namespace vgpu::admin
