#!/usr/bin/env bash
# A PyTorch training step through the guest's driver against the same step natively (issue 20):
# bench/torch_worker.py's loops, each ROUNDS times in turn, three ways:
#   native       the loop as a plain process
#   one-batch    through libvgpu-cuda + libvgpu-cublas with VGPU_CUDA_PIPELINE=0: one batch in
#                flight, so the GPU starts on a step when the program synchronizes at its end
#   two-batches  the default: recorded calls go as soon as nothing is on its way, and the
#                synchronizing call goes while that batch still runs (docs/remote-cuda.md)
# for `high` (small steps, each synchronized: step p50 / p99) and `low` (a larger model back to
# back: steps per second). Prints every row (a remote one with where its round trips went,
# VGPU_CUDA_TIMING), then medians and their ratios to native. The remote
# runs see no /dev/nvidia* and no real libcuda (tests/remote_cuda/hide_gpu.sh). Needs the GPU
# host, root and PyTorch. ROLES (default "high low") picks the loops; BUSY_POLL_US has the
# mediator poll (tests/remote_cuda/hide_gpu.sh).
# usage: gpu_remote_torch_step.sh BIN_DIR PLUGIN_DIR GUEST_LIB_DIR [SECONDS] [ROUNDS]
set -u
bin=$1 plugins=$2 guest_lib=$3 seconds=${4:-6} rounds=${5:-3}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/remote_cuda/hide_gpu.sh"
source "$here/start_mediator.sh"
gpu_test_start "$(mktemp -d)"
python3 -c "import torch" 2>/dev/null || { echo "skip: python3 cannot import torch"; exit 77; }
start_remote_cuda_mediator "$bin" "$plugins" torch || exit 1
worker=$here/torch_worker.py
results=$work/rows.txt
run_row() {  # way role
  local way=$1 role=$2 out=$work/$1.$2.json
  case $way in
    native) python3 "$worker" "$role" "$seconds" >"$out" 2>"$out.err" ;;
    *)
      run_without_gpu env LD_LIBRARY_PATH="$guest_lib:${LD_LIBRARY_PATH:-}" \
        LD_PRELOAD="$guest_lib/libcublas.so.13:$guest_lib/libcublasLt.so.13" VGPU_PORT="$mediator_port" VGPU_VM_ID="$vm" \
        VGPU_TOKEN= VGPU_CUDA_LOCK_DIR="$work" \
        VGPU_CUDA_PIPELINE=$([ "$way" = two-batches ] && echo 1 || echo 0) VGPU_CUDA_TIMING=1 \
        python3 "$worker" "$role" "$seconds" >"$out" 2>"$out.err"
      ;;
  esac || { echo "$way $role failed:"; tail -5 "$out.err"; return; }
  # Where the remote loop's round trips went (VGPU_CUDA_TIMING), beside its row.
  grep -h "batches, p50" "$out.err" | sed "s/^/  $way $role: /"
  python3 - "$way" "$role" "$out" <<'PY' | tee -a "$results"
import json, sys
way, role, r = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
print(f"{way} {role} {r['p50_ms']:.3f} {r['p99_ms']:.3f} {r['steps_per_s']:.1f}")
PY
}
for round in $(seq "$rounds"); do
  echo "== round $round (way role step-p50-ms step-p99-ms steps/s)"
  for role in ${ROLES:-high low}; do
    for way in native one-batch two-batches; do run_row "$way" "$role"; done
  done
done
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    way, role, p50, p99, rate = line.split()
    rows.setdefault((way, role), []).append((float(p50), float(p99), float(rate)))
def med(way, role, i):
    v = rows.get((way, role))
    return statistics.median(x[i] for x in v) if v else float('nan')
print("medians (ratio to native):")
for way in ("native", "one-batch", "two-batches"):
    h50, h99, l = med(way, "high", 0), med(way, "high", 1), med(way, "low", 2)
    n50, n99, nl = med("native", "high", 0), med("native", "high", 1), med("native", "low", 2)
    print(f"  {way:12s} high step p50 {h50:.3f} ms ({h50 / n50:.2f}x)  p99 {h99:.3f} ms "
          f"({h99 / n99:.2f}x)   low {l:.1f} steps/s ({l / nl:.2f}x)")
PY
