#!/usr/bin/env bash
# Two VMs running PyTorch at different priorities (issue 20): a high VM's small training steps
# (bench/torch_worker.py high, each step timed, a 2 ms pause between) while a low VM trains a
# larger model back to back (torch_worker.py low). In one run, each ROUNDS times:
#   alone           the high loop by itself, natively
#   time-sliced     both as plain processes (the GPU time-slices their contexts)
#   mps-prio        both as MPS clients, the low one with CUDA_MPS_CLIENT_PRIORITY=1
#   mps-prio-stream the same, the high one also on a high-priority stream
#   remote-alone    the high loop through libvgpu-cuda + libvgpu-cublas, as a VM of pool A
#   remote-isolated both as VMs of pool A (a session process each: time-sliced on the GPU)
#   remote-shared   both as VMs of pool S (remote_shared_pools: one process, green contexts,
#                   RESERVE_SMS SMs for the high VM, default 16)
# Prints the high loop's step p50/p99 and the low loop's steps/s per row. BUSY_POLL_US has the
# mediator's transport and executor poll that long before sleeping (configs/gpu.yaml: 20000). The remote runs see no
# /dev/nvidia* and no real libcuda (tests/remote_cuda/hide_gpu.sh). Needs the GPU host, root, MPS.
# usage: gpu_remote_torch_priority.sh BIN_DIR PLUGIN_DIR GUEST_LIB_DIR [SECONDS] [ROUNDS]
set -u
bin=$1 plugins=$2 guest_lib=$3 seconds=${4:-8} rounds=${5:-2}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/remote_cuda/hide_gpu.sh"
source "$here/start_mediator.sh"
gpu_test_start "$(mktemp -d)"
cleanup() {
  [ -n "${mediator_pid:-}" ] && kill -TERM "$mediator_pid" 2>/dev/null
  echo quit | nvidia-cuda-mps-control >/dev/null 2>&1
  jobs -p | xargs -r kill 2>/dev/null
  rm -rf "$work"
  return 0
}
trap cleanup EXIT
trap 'exit 1' TERM INT
db=$work/vgpu.db
"$bin/vgpu-admin" --db "$db" create-pool S >/dev/null
high_a=$(register_vm "$bin" "$db" high-a A high) low_a=$(register_vm "$bin" "$db" low-a A low)
high_s=$(register_vm "$bin" "$db" high-s S high) low_s=$(register_vm "$bin" "$db" low-s S low)
cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, port: 0, shared_memory_dir: $work/shm, shared_memory_mb: 256,
              busy_poll_us: ${BUSY_POLL_US:-0}}]
policy: {plugin: strict_priority}
executors: [{plugin: cuda, slots: 4, remote_shared_pools: S, high_reserved_sms: ${RESERVE_SMS:-16},
             busy_poll_us: ${BUSY_POLL_US:-0}}]
YAML
worker=$here/torch_worker.py
native() { python3 "$worker" "$@"; }
remote() {  # vm role seconds
  local vm=$1
  shift
  run_without_gpu env LD_LIBRARY_PATH="$guest_lib:${LD_LIBRARY_PATH:-}" \
    LD_PRELOAD="$guest_lib/libcublas.so.13:$guest_lib/libcublasLt.so.13" VGPU_PORT="$mediator_port" VGPU_VM_ID="$vm" VGPU_TOKEN= \
    VGPU_CUDA_LOCK_DIR="$work" python3 "$worker" "$@"
}
row() {  # label high.json [low.json]
  python3 - "$@" <<'PY'
import json, sys
label, high = sys.argv[1], json.load(open(sys.argv[2]))
low = json.load(open(sys.argv[3]))['steps_per_s'] if len(sys.argv) > 3 else float('nan')
print('%-16s high step p50 %7.2f ms  p99 %7.2f ms   low steps/s %7.1f' % (
    label, high['p50_ms'], high['p99_ms'], low))
PY
}
pair() {  # label high-command... -- low-command...: the low loop runs around the high one
  local label=$1
  shift
  local high=() low=()
  while [ "$1" != -- ]; do high+=("$1"); shift; done
  shift
  low=("$@")
  "${low[@]}" low $((${seconds%.*} + 3)) >"$work/low.json" 2>"$work/low.err" &
  local low_pid=$!
  sleep 2
  "${high[@]}" high "$seconds" >"$work/high.json" 2>"$work/high.err"
  wait "$low_pid"
  row "$label" "$work/high.json" "$work/low.json" || tail -3 "$work/high.err" "$work/low.err"
}
export CUDA_MPS_PIPE_DIRECTORY=$work/mps CUDA_MPS_LOG_DIRECTORY=$work/mpslog
mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
for round in $(seq "$rounds"); do
  echo "== round $round"
  native high "$seconds" >"$work/high.json" && row alone "$work/high.json"
  pair time-sliced native -- native
  if nvidia-cuda-mps-control -d; then
    pair mps-prio native -- env CUDA_MPS_CLIENT_PRIORITY=1 python3 "$worker"
    pair mps-prio-stream env HIGH_STREAM=1 python3 "$worker" -- \
      env CUDA_MPS_CLIENT_PRIORITY=1 python3 "$worker"
    echo quit | nvidia-cuda-mps-control
    sleep 2  # the server exits after its clients: the mediator must not become one
  else
    echo "MPS could not start; its rows are left out"
  fi
  start_mediator "$bin/vgpu-mediator" "$work/mediator.yaml" "$work/mediator.log" || exit 1
  remote "$high_a" high "$seconds" >"$work/high.json" 2>"$work/high.err" &&
    row remote-alone "$work/high.json" || tail -3 "$work/high.err"
  pair remote-isolated remote "$high_a" -- remote "$low_a"
  pair remote-shared remote "$high_s" -- remote "$low_s"
  kill -TERM "$mediator_pid"
  wait "$mediator_pid" 2>/dev/null
  mediator_pid=
done
