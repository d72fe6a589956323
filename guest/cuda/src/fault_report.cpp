#include "fault_report.hpp"

#include <dlfcn.h>
#include <signal.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "driver_state.hpp"

namespace vgpu::guest::cuda {

namespace {
void report_fault(int, siginfo_t* info, void* context) {
  const auto address = reinterpret_cast<std::uintptr_t>(info->si_addr);
  const auto pc =
      static_cast<std::uintptr_t>(static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
  Dl_info where{};
  dladdr(reinterpret_cast<void*>(pc), &where);
  const auto base = reinterpret_cast<std::uintptr_t>(where.dli_fbase);
  char line[400];
  const int n = std::snprintf(
      line, sizeof line, "vgpu-cuda: fault reading %#lx at %s+%#lx; the context handle is %p\n",
      static_cast<unsigned long>(address), where.dli_fname ? where.dli_fname : "?",
      static_cast<unsigned long>(pc - base), static_cast<void*>(&Driver::get().primary));
  if (n > 0) (void)!write(2, line, std::min<std::size_t>(n, sizeof line - 1));
  // SA_RESETHAND: returning re-runs the faulting instruction under the default action.
}
}  // namespace

void report_faults_when_tracing() {
  if (!tracing_calls()) return;
  struct sigaction action {};
  action.sa_sigaction = &report_fault;
  action.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigaction(SIGSEGV, &action, nullptr);
}

}  // namespace vgpu::guest::cuda
