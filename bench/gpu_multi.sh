#!/usr/bin/env bash
# Several GPUs under one mediator (docs/multi-gpu.md), against one mediator per GPU, in the same
# run. On every GPU the load of bench/gpu_sharing.sh: one high-priority VM probes (a 50 us job
# every 10 ms) while four low-priority VMs flood it (kernels whose blocks run 2 ms).
#   gpuN        a mediator that drives GPU N alone (`device: N`), 1 probe VM + 4 flood VMs
#   across      one mediator over every GPU (`devices: all`, `isolation: process`): per GPU one
#               probe VM pinned to it (vgpu-admin --device) and four flood VMs placed by load
#   fault       the same mediator with fault injection: a VM placed on the last GPU breaks its
#               CUDA context (an illegal address) while floods run on every GPU; the other GPUs'
#               VMs must lose nothing, and the broken GPU's worker is replaced
# Usage: bench/gpu_multi.sh BIN_DIR PLUGIN_DIR [SECONDS] [GPUS]
#   GPUS: how many devices (default: every GPU nvidia-smi lists). On one GPU, two devices of it:
#   DEVICES="[0, 0]" BASE_DEVICE=0 bench/gpu_multi.sh BIN PLUGINS 6 2 (the baseline then runs
#   the per-GPU load twice on GPU 0).
set -euo pipefail
source "$(dirname "$0")/start_mediator.sh"
bin=$1 plugins=$2 seconds=${3:-8}
gpus=${4:-$(nvidia-smi -L | wc -l)}
devices=${DEVICES:-all}
parts=${PARTS:-baseline across fault}  # which parts to run
isolation=${ISOLATION:-process}  # of the across mediator: process (one worker per GPU) or none
work=$(bench_workdir)
db=$work/vgpu.db
admin() { "$bin/vgpu-admin" --db "$db" "$@" >/dev/null; }

# VMs: probe g (id 100+g) pinned to device g; floods 1..4*gpus unpinned, low.
for g in $(seq 0 $((gpus - 1))); do
  admin register-vm --vm-uuid probe$g --name probe$g --pool A --priority high --vm-id $((100 + g))
done
for i in $(seq 1 $((4 * gpus))); do
  admin register-vm --vm-uuid flood$i --name flood$i --pool A --priority low --vm-id $i
done

config() {  # file, executor lines
  cat >"$1" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, port: 0}]
policy: {plugin: strict_priority}
admin: {socket: $work/admin.sock}
executors:
$2
YAML
}
cuda_settings="    slots: 4
    max_low_in_flight: 2
    high_reserved_sms: 16"

probe() {  # port vm_id -> "p50 p99" in us
  "$bin/vgpu-loadgen" --port "$1" --vm "$2::probe" --interval-ms 10 --duration-s "$seconds" \
    --op spin -p us=50 -p blocks=1 --json |
    python3 -c "import json,sys; r=json.load(sys.stdin)[0]; print('%.0f %.0f %d' % (r['p50_round_trip_ms']*1e3, r['p99_round_trip_ms']*1e3, r['failed']))"
}
flood_args() {  # first last -> --vm list
  for i in $(seq "$1" "$2"); do printf -- '--vm %d ' "$i"; done
}
# Starts flood VMs first..last against the mediator in the background (pid in $flood).
start_flood() {  # first last output
  "$bin/vgpu-loadgen" --port "$mediator_port" $(flood_args "$1" "$2") \
    --duration-s $((seconds + 2)) --inflight 2 --op spin -p us=2000 -p blocks=4224 >"$3" &
  flood=$!
}
# Jobs the flood VMs finished and failed, from loadgen's table.
flood_sum() {
  awk '$4 == "low" {done += $5; failed += $6; n++} END {printf "%d %d %d\n", done, failed, n}' "$1"
}

echo "== one mediator per GPU (the baseline)"
[[ $parts == *baseline* ]] && for g in $(seq 0 $((gpus - 1))); do
  admin update-vm probe$g --device none
  config "$work/gpu$g.yaml" "  - plugin: cuda
    device: ${BASE_DEVICE:-$g}
$cuda_settings"
  first=$((4 * g + 1))
  start_mediator "$bin/vgpu-mediator" "$work/gpu$g.yaml" "$work/gpu$g.log"
  start_flood $first $((first + 3)) "$work/gpu$g-flood.txt"
  sleep 1
  read -r p50 p99 pf < <(probe "$mediator_port" $((100 + g)))
  wait $flood || true
  kill -TERM $mediator_pid; wait $mediator_pid || true
  read -r done failed n < <(flood_sum "$work/gpu$g-flood.txt")
  printf 'gpu%d   probe p50 %5d us  p99 %5d us  probe failed %d | %d flood VMs: %6d jobs (%.0f per VM), failed %d\n' \
    "$g" "$p50" "$p99" "$pf" "$n" "$done" "$(python3 -c "print($done / max(1, $n))")" "$failed"
done

if [[ $parts == *across* ]]; then
echo "== one mediator over every GPU (devices: $devices, isolation: $isolation)"
for g in $(seq 0 $((gpus - 1))); do admin update-vm probe$g --device $g; done
config "$work/across.yaml" "  - plugin: cuda
    devices: $devices
    isolation: $isolation
$cuda_settings"
start_mediator "$bin/vgpu-mediator" "$work/across.yaml" "$work/across.log"
start_flood 1 $((4 * gpus)) "$work/across-flood.txt"
sleep 1
"$bin/vgpu-admin" --db "$db" --admin-socket "$work/admin.sock" status | grep -E "device|executor"
probes=()
for g in $(seq 0 $((gpus - 1))); do
  probe "$mediator_port" $((100 + g)) >"$work/across-probe$g.txt" &
  probes+=($!)
done
wait "${probes[@]}"
wait $flood || true
kill -TERM $mediator_pid; wait $mediator_pid || true
for g in $(seq 0 $((gpus - 1))); do
  read -r p50 p99 pf <"$work/across-probe$g.txt"
  printf 'across device %d probe p50 %5d us  p99 %5d us  probe failed %d\n' "$g" "$p50" "$p99" "$pf"
done
read -r done failed n < <(flood_sum "$work/across-flood.txt")
printf 'across %d flood VMs: %6d jobs (%.0f per VM), failed %d\n' "$n" "$done" \
  "$(python3 -c "print($done / max(1, $n))")" "$failed"
cat "$work/across-flood.txt"
fi
[[ $parts == *fault* ]] || exit 0

echo "== a GPU's fault (fault_injection on; the breaking VM pinned to the last device)"
last=$((gpus - 1))
admin register-vm --vm-uuid breaker --name breaker --pool A --priority low --vm-id 200 --device $last
config "$work/fault.yaml" "  - plugin: cuda
    devices: $devices
    isolation: process
    fault_injection: true
$cuda_settings"
start_mediator "$bin/vgpu-mediator" "$work/fault.yaml" "$work/fault.log"
start_flood 1 $((4 * gpus)) "$work/fault-flood.txt"
sleep 2
placed() {  # the VMs each device has now, from the admin socket
  "$bin/vgpu-admin" --db "$db" --admin-socket "$work/admin.sock" status --json |
    python3 -c "
import json, sys
for d in json.load(sys.stdin)['mediator']['devices']:
    print('device %d (%s): VMs %s' % (d['index'], d['name'], ' '.join(sorted(d['vms'], key=int))))"
}
placed
"$bin/vgpu-loadgen" --port "$mediator_port" --vm 200 --jobs 1 --op fault >"$work/fault-breaker.txt" 2>&1 || true
sleep 1
"$bin/vgpu-loadgen" --port "$mediator_port" --vm 200 --jobs 20 --op spin -p us=100 \
  >"$work/fault-after.txt" 2>&1 || true
wait $flood || true
"$bin/vgpu-admin" --db "$db" --admin-socket "$work/admin.sock" status | grep -E "device"
kill -TERM $mediator_pid; wait $mediator_pid || true
echo "the breaking VM's fault job:"; grep -E "^200|vm 200" "$work/fault-breaker.txt" || cat "$work/fault-breaker.txt"
echo "its 20 jobs after the worker was replaced:"; grep -E "^200" "$work/fault-after.txt"
echo "the flood VMs meanwhile (by device: status above):"; cat "$work/fault-flood.txt"
grep -E "lost|starting a new|replac|sticky" "$work/fault.log" | head -5 || true
