// Fuzz target: a SUBMIT's op and parameters as the executors read them (vgpu/sdk/ops.hpp): the
// op name and key=value lines from the fuzzer's bytes, then shape_of, output_bytes and
// work_shape, and the cpu executor itself when the job is cheap. A bad parameter must come back
// as OpError (bad_request), never as a crash, an overflow or a size that disagrees with the
// output the op really returns.
#include <string>
#include <string_view>

#include "cpu_ops.hpp"
#include "fuzz_input.hpp"
#include "vgpu/sdk/ops.hpp"

using namespace vgpu;
namespace ops = sdk::ops;

namespace {

// The first line is the op, each later line key=value (a line without '=' is a key alone).
sdk::Job job_from(std::string_view text) {
  sdk::Job job;
  std::size_t at = 0;
  bool first = true;
  while (at <= text.size()) {
    const std::size_t end = std::min(text.find('\n', at), text.size());
    const std::string_view line = text.substr(at, end - at);
    if (first) {
      job.op = std::string(line);
      first = false;
    } else {
      const std::size_t eq = line.find('=');
      job.params.push_back({std::string(line.substr(0, eq)),
                            eq == std::string_view::npos ? "" : std::string(line.substr(eq + 1))});
    }
    at = end + 1;
  }
  return job;
}

// Work the cpu executor would do, in lane-iterations or elements: small enough to run here.
bool cheap(const sdk::Job& job) {
  if (job.op == ops::kSpin) return false;  // sleeps for the time asked
  if (job.op == ops::kWork) {
    const auto w = ops::work_shape(job);
    return w.iters * w.blocks <= 100'000;
  }
  const auto s = ops::shape_of(job);
  if (job.op == ops::kGemm) return s.m * s.n * s.k <= 100'000;
  return s.n <= 100'000;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const sdk::Job job = job_from({reinterpret_cast<const char*>(data), size});
  std::uint64_t promised = 0;
  try {
    ops::shape_of(job);
    promised = ops::output_bytes(job);
    if (!cheap(job)) return 0;
  } catch (const ops::OpError&) {
    // Refused: the cpu executor must refuse it the same way.
    fuzz::require(executors::run_cpu_op(job).status != sdk::Status::ok);
    return 0;
  }
  const auto result = executors::run_cpu_op(job);
  if (result.status != sdk::Status::ok) return 0;  // unknown op, or a check only the op makes
  std::uint64_t returned = 0;
  for (const auto& out : result.outputs) returned += out.size();
  fuzz::require(returned == promised);
  return 0;
}
