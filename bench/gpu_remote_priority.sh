#!/usr/bin/env bash
# The sharing benchmark with remoted programs on both sides: one high-priority VM's probe
# (vgpu-gpu-share-worker probe: a 50 us kernel and a wait every 10 ms) while LOW low-priority
# VMs each run the same program's flood (2 ms spinning kernels back to back), every program an
# unmodified CUDA process going through libvgpu-cuda; against the same programs run natively as
# plain processes (the GPU time-slices them), in the same run. The remote programs' batches go
# through their VM's shared memory and rings, as the guest library does by default.
# usage: gpu_remote_priority.sh BIN_DIR PLUGIN_DIR GUEST_LIB_DIR [SECONDS] [ROUNDS]
set -u
bin=$1 plugins=$2 guest_lib=$3 seconds=${4:-6} rounds=${5:-3} low=${LOW:-4}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/start_mediator.sh"
work=$(bench_workdir)
trap 'kill $mediator_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
db=$work/vgpu.db
register() { register_vm "$bin" "$db" "$1" A "$2"; }
probe_vm=$(register probe high)
flood_vms=()
for i in $(seq "$low"); do flood_vms+=("$(register "flood$i" low)"); done
# The same VMs again in pool S, whose programs share one process (remote_shared_pools): stream
# priorities order the kernels across VMs, and with RESERVE_SMS (high_reserved_sms, default 16;
# 0 for none) the high VM's kernels run in a green context over SMs the low VMs cannot take.
register_in_s() { register_vm "$bin" "$db" "$1" S "$2"; }
"$bin/vgpu-admin" --db "$db" create-pool S >/dev/null
shared_probe_vm=$(register_in_s sprobe high)
shared_flood_vms=()
for i in $(seq "$low"); do shared_flood_vms+=("$(register_in_s "sflood$i" low)"); done
cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, port: 0, busy_poll_us: 20000, shared_memory_dir: $work/shm,
              shared_memory_mb: 64}]
policy: {plugin: strict_priority}
executors: [{plugin: cuda, slots: $((2 * low + 2)), busy_poll_us: 20000, remote_shared_pools: S,
             high_reserved_sms: ${RESERVE_SMS:-16}}]
YAML
start_mediator "$bin/vgpu-mediator" "$work/mediator.yaml" "$work/mediator.log"
worker=$bin/vgpu-gpu-share-worker
remote() {  # vm_id args...
  local vm=$1
  shift
  env LD_LIBRARY_PATH="$guest_lib:${LD_LIBRARY_PATH:-}" VGPU_PORT="$mediator_port" VGPU_VM_ID="$vm" VGPU_TOKEN= \
    VGPU_CUDA_LOCK_DIR="$work" "$worker" "$@"
}
summary() {  # label probe.json flood files...
  local label=$1 probe=$2
  shift 2
  python3 - "$label" "$probe" "$@" <<'PY'
import json, sys
label, probe = sys.argv[1], json.load(open(sys.argv[2]))
floods = [json.load(open(f)) for f in sys.argv[3:]]
launches = sum(f['launches'] / f['seconds'] for f in floods) if floods else 0
print('%-22s p50 %8.1f us  p99 %9.1f us  low launches/s %8.1f' % (
    label, probe['p50_us'], probe['p99_us'], launches))
PY
}
remote_round() {  # label probe_vm flood_vm... : floods for the window, the probe inside it
  local label=$1 probe=$2 files=() pids=() i=0
  shift 2
  for vm in "$@"; do
    i=$((i + 1))
    remote "$vm" flood $((seconds + 2)) >"$work/r$i" &
    pids+=($!) files+=("$work/r$i")
  done
  sleep 1
  VGPU_CUDA_TIMING=1 remote "$probe" probe "$seconds" high >"$work/p"
  wait "${pids[@]}"
  summary "$label" "$work/p" "${files[@]}"
}
for round in $(seq "$rounds"); do
  echo "== round $round"
  "$worker" probe "$seconds" high >"$work/p" && summary native-alone "$work/p"
  # VGPU_CUDA_TIMING: the probe's library says at exit where its round trips went (stderr).
  VGPU_CUDA_TIMING=1 remote "$probe_vm" probe "$seconds" high >"$work/p" && summary remote-alone "$work/p" ||
    { echo "remote probe failed:"; cat "$work/p"; }
  VGPU_CUDA_TIMING=1 remote "$shared_probe_vm" probe "$seconds" high >"$work/p" &&
    summary remote-shared-alone "$work/p" || { echo "remote probe failed:"; cat "$work/p"; }
  # (Waits name the floods: a plain `wait` would wait for the mediator too.)
  files=() pids=()
  for i in $(seq "$low"); do
    "$worker" flood $((seconds + 2)) >"$work/f$i" &
    pids+=($!) files+=("$work/f$i")
  done
  sleep 1
  "$worker" probe "$seconds" high >"$work/p"
  wait "${pids[@]}"
  summary native-timesliced "$work/p" "${files[@]}"
  remote_round remote-sessions "$probe_vm" "${flood_vms[@]}"
  remote_round remote-shared-pool "$shared_probe_vm" "${shared_flood_vms[@]}"
done
