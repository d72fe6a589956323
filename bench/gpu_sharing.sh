#!/usr/bin/env bash
# Priority under load, side by side on one GPU: a 50 us high-priority job every 10 ms from one
# VM while 4 VMs flood the GPU with kernels whose blocks run 2 ms. Compared in the same run:
#   alone          the probe process alone
#   time-slicing   4 flood processes + the probe process sharing the GPU (the default)
#   mps            the same under MPS (nvidia-cuda-mps-control -d)
#   mediator       4 low-priority VMs + 1 high-priority VM through vgpu-mediator (cuda executor,
#                  stream priorities, device admission, a reserved SM partition for high);
#                  again with busy polling (mediator-poll); each also without the flood (-alone)
# Usage: bench/gpu_sharing.sh BIN_DIR PLUGIN_DIR [SECONDS]   (needs a GPU; prints a table)
set -euo pipefail
source "$(dirname "$0")/start_mediator.sh"
bin=$1 plugins=$2 seconds=${3:-8}
work=$(bench_workdir)
worker=$bin/vgpu-gpu-share-worker
declare -A p99 p50 breakdown

probe_row() {  # name json
  p50[$1]=$(sed -E 's/.*"p50_us": ([0-9.]+).*/\1/' <<<"$2")
  p99[$1]=$(sed -E 's/.*"p99_us": ([0-9.]+).*/\1/' <<<"$2")
}

processes() {  # name: 4 floods + probe as plain processes
  local pids=()
  for i in 1 2 3 4; do "$worker" flood $((seconds + 2)) & pids+=($!); done
  sleep 1
  probe_row "$1" "$("$worker" probe "$seconds")"
  wait "${pids[@]}"
}

probe_row alone "$("$worker" probe "$seconds")"
processes time-slicing

export CUDA_MPS_PIPE_DIRECTORY=$work/mps CUDA_MPS_LOG_DIRECTORY=$work/mpslog
mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
if nvidia-cuda-mps-control -d; then
  processes mps
  echo quit | nvidia-cuda-mps-control
  sleep 1
else
  echo "MPS could not start; its row is left out" >&2
fi
unset CUDA_MPS_PIPE_DIRECTORY CUDA_MPS_LOG_DIRECTORY

# Through the mediator: VM 1 high (the probe), VMs 2-5 low (the flood).
db=$work/vgpu.db
register_vm "$bin" "$db" probe A high >/dev/null
for i in 2 3 4 5; do register_vm "$bin" "$db" flood$i A low >/dev/null; done
# Each mediator configuration: its probe without the flood, then under it.
#   mediator       threads sleep when idle (the default)
#   mediator-poll  the tcp transport and the executor poll for 20 ms before sleeping, and the
#                  probe's client watches its socket while it waits (busy_poll_us, --spin-us):
#                  what a host gives for latency when it spends a core or two on it
#   mediator-rings as mediator-poll, and the probe's SUBMIT and RESULT pass through rings in
#                  its VM's shared memory instead of the socket (docs/protocol.md, "Rings")
mediator_rows() {  # name, busy_poll_us, rings (yes/no)
  local name=$1 poll=$2 rings=$3 shm=""
  [ "$rings" = yes ] && shm=", shared_memory_dir: $work/shm, shared_memory_mb: 4"
  cat >"$work/$name.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, port: 0, busy_poll_us: $poll$shm}]
policy: {plugin: strict_priority}
executors:
  - plugin: cuda
    slots: 4
    max_low_in_flight: 2      # device admission: the rest of the flood waits in the mediator
    high_reserved_sms: 16     # a green-context partition only high-priority jobs run on
    busy_poll_us: $poll
YAML
  start_mediator "$bin/vgpu-mediator" "$work/$name.yaml" "$work/$name.log"
  local mediator=$mediator_pid
  port=$mediator_port
  mediator_probe "$name-alone" "$poll" "$rings"
  "$bin/vgpu-loadgen" --port "$port" --vm 2 --vm 3 --vm 4 --vm 5 --duration-s $((seconds + 2)) \
    --inflight 2 --op spin -p us=2000 -p blocks=4224 >"$work/$name-flood.txt" &
  local flood=$!
  sleep 1
  mediator_probe "$name" "$poll" "$rings"
  wait $flood
  kill -TERM $mediator
  wait $mediator || true
}
mediator_probe() {  # name, client spin in us, rings (yes/no)
  local json extra=()
  [ "$3" = yes ] && extra=(--rings)
  json=$("$bin/vgpu-loadgen" --port "$port" --vm 1::probe --interval-ms 10 --duration-s "$seconds" \
    --spin-us "$2" --op spin -p us=50 -p blocks=1 --json "${extra[@]}")
  p50[$1]=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])[0]['p50_round_trip_ms']*1000)" "$json")
  p99[$1]=$(python3 -c "import json,sys; print(json.loads(sys.argv[1])[0]['p99_round_trip_ms']*1000)" "$json")
  # Where the probe's time went (loadgen's breakdown): p50 / p99 / mean of the slowest 1%, in us.
  breakdown[$1]=$(python3 -c "
import json, sys
b = json.loads(sys.argv[1])[0]['breakdown']
print('  '.join('%s %.0f/%.0f/%.0f' % (k, v['p50_ms'] * 1e3, v['p99_ms'] * 1e3,
                                      v['slowest_1pct_mean_ms'] * 1e3) for k, v in b.items()))" "$json")
}
mediator_rows mediator 0 no
mediator_rows mediator-poll 20000 no
mediator_rows mediator-rings 20000 yes

printf '%-16s %10s %10s %14s\n' scheme "p50 (us)" "p99 (us)" "p99 / alone"
for name in alone time-slicing mps mediator-alone mediator mediator-poll-alone mediator-poll \
  mediator-rings-alone mediator-rings; do
  [ -n "${p99[$name]:-}" ] || continue
  printf '%-16s %10.0f %10.0f %14.2f\n' "$name" "${p50[$name]}" "${p99[$name]}" \
    "$(python3 -c "print(${p99[$name]} / ${p99[alone]})")"
done
echo
echo "the mediator's probe, part by part (us, p50/p99/mean of the slowest 1%): wait = queued in"
echo "the mediator, executor = run time in the executor (device = of it on the GPU), outside ="
echo "the rest of the round trip (transport, thread hand-offs)"
for name in mediator-alone mediator mediator-poll-alone mediator-poll mediator-rings-alone \
  mediator-rings; do
  [ -n "${breakdown[$name]:-}" ] && printf '%-20s %s\n' "$name" "${breakdown[$name]}"
done
echo
echo "flood through the mediator (low VMs):"
cat "$work/mediator-flood.txt"
grep -E "held|admission|cuda executor" "$work/mediator.log" | head -5 || true
