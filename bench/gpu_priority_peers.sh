#!/usr/bin/env bash
# The high-priority probe against the strongest priority a GPU host has without vgpu, for three
# shapes of low-priority work, with the low VMs' delivered work beside every latency.
#
# HIGH high VMs each send a 50 us one-block job every 10 ms (the probe); LOW low VMs flood.
# Flood shapes (each low VM keeps two launches queued):
#   spin   blocks that hold an SM slot for 2 ms on the clock (what gpu_sharing.sh floods with;
#          a held-back spin still ends on time, so its launches/s overstate delivered work)
#   fixed  fixed work: one wave of one-warp blocks of ~2 ms of fused multiply-adds each
#   short  fixed work: ~20 us blocks, 100 waves per launch (how training kernels look)
# Rows, all in each round:
#   alone            the probe process alone on the GPU
#   one-process      floods and probes as threads of one process, probes on the device's
#                    greatest stream priority, 32 hardware queues (CUDA_DEVICE_MAX_CONNECTIONS)
#   mps-prio         MPS; floods are clients with CUDA_MPS_CLIENT_PRIORITY=1, probes 0
#   mps-prio-stream  the same, probes also on the greatest stream priority
#   mediator         through vgpu-mediator: probes over rings with busy polling (each high
#                    VM at its own random phase of the 10 ms, as independent VMs are), low VMs'
#                    spin and work sliced (low_slice_us), device admission; -alone: no flood
# Fixed work per launch is calibrated on the GPU first (vgpu-gpu-share-worker calibrate).
#
# Usage: bench/gpu_priority_peers.sh BIN_DIR PLUGIN_DIR [SECONDS] [ROUNDS]
# Environment: HIGH (1), LOW (4), SHAPES ("spin fixed short"), SLICE_US (100), LOW_IN_FLIGHT (2),
#   HIGH_RESERVED_SMS (0), ISOLATION (none; `process` as configs/gpu.yaml ships),
#   ISOLATION_POLL_US (0; with ISOLATION=process), KEEP_WARM_US ("0": a list; each value gets its
#   own mediator rows, 0 as `mediator`, another as `mediator-warm`, with the executor's
#   keep_warm_us set to it), VARIANTS (instead of KEEP_WARM_US: a list of mediator variants,
#   each NAME or NAME:key=value[,key=value...] with cuda executor settings that replace or add
#   to the rows' own, e.g. "mediator mediator-inproc:isolation=none,isolation_poll_us=0"; every
#   NAME starts with `mediator`), RESULTS (a file for the per-round rows; default in a temp dir).
# Needs a GPU and MPS (nvidia-cuda-mps-control). Prints every row, then medians over the rounds
# with the spread, and the goal check against the mps-prio row; then, for every mediator row,
# where its worst probe's time went, the CPU the hypervisor took meanwhile (steal) and the
# mediator's threads that waited longest for a CPU of this machine (bench/thread_waits.py).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/start_mediator.sh"
bin=$1 plugins=$2 seconds=${3:-6} rounds=${4:-3}
high=${HIGH:-1} low=${LOW:-4} shapes=${SHAPES:-"spin fixed short"}
slice_us=${SLICE_US:-100} low_in_flight=${LOW_IN_FLIGHT:-2} reserve=${HIGH_RESERVED_SMS:-0}
isolation=${ISOLATION:-none} isolation_poll=${ISOLATION_POLL_US:-0}
variants=${VARIANTS:-}
if [ -z "$variants" ]; then
  for warm in ${KEEP_WARM_US:-0}; do
    if [ "$warm" = 0 ]; then variants+=" mediator:keep_warm_us=0"
    else variants+=" mediator-warm:keep_warm_us=$warm"; fi
  done
fi
for variant in $variants; do
  case ${variant%%:*} in
    mediator*) ;;
    *) echo "VARIANTS: '$variant' does not start with mediator (the summary reads those rows)" >&2
       exit 2 ;;
  esac
done
work=$(bench_workdir)
results=${RESULTS:-$work/results.tsv}
: >"$results"
: >"$results.breakdown"
worker=$bin/vgpu-gpu-share-worker

read -r ns_per_iter sms < <("$worker" calibrate)
slots_blocks=$((32 * sms))  # one-warp blocks that fill every block slot of every SM
fixed_iters=$(python3 -c "print(int(2e6 / $ns_per_iter))")
short_iters=$(python3 -c "print(int(2e4 / $ns_per_iter))")
echo "calibrated: $ns_per_iter ns per iteration at full occupancy, $sms SMs;" \
  "fixed = $slots_blocks blocks x $fixed_iters, short = $((100 * slots_blocks)) blocks x $short_iters"

worker_shape() {  # shape -> the worker's flood arguments
  case $1 in
    spin) echo "spin 0 0" ;;
    fixed) echo "work $fixed_iters $slots_blocks" ;;
    short) echo "work $short_iters $((100 * slots_blocks))" ;;
  esac
}
loadgen_shape() {  # shape -> the loadgen's op and parameters for the same launch
  case $1 in
    spin) echo "--op spin -p us=2000 -p blocks=$slots_blocks" ;;
    fixed) echo "--op work -p iters=$fixed_iters -p blocks=$slots_blocks -p output=0" ;;
    short) echo "--op work -p iters=$short_iters -p blocks=$((100 * slots_blocks)) -p output=0" ;;
  esac
}
units_per_launch() {  # shape -> the work one launch delivers (blocks * iters); spin: 1 launch
  case $1 in
    spin) echo 1 ;;
    fixed) echo $((slots_blocks * fixed_iters)) ;;
    short) echo $((100 * slots_blocks * short_iters)) ;;
  esac
}

row() {  # round shape scheme p50 p99 delivered
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" | tee -a "$results"
}

# Worst p99 over the probe JSON lines on stdin (and that probe's p50).
worst_probe() {
  python3 -c "
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
w = max(rows, key=lambda r: r['p99_us'])
print('%.1f %.1f' % (w['p50_us'], w['p99_us']))"
}

# Floods and probes as separate processes; $1 = env for floods, $2 = probe's argument.
processes() {  # round shape scheme flood_env probe_arg
  local round=$1 shape=$2 scheme=$3 flood_env=$4 probe_arg=$5 pids=() probes=()
  for i in $(seq "$low"); do
    env $flood_env "$worker" flood $((seconds + 2)) $(worker_shape "$shape") >"$work/flood$i.json" &
    pids+=($!)
  done
  sleep 1
  for i in $(seq "$high"); do
    "$worker" probe "$seconds" $probe_arg >"$work/probe$i.json" &
    probes+=($!)
  done
  wait "${probes[@]}" "${pids[@]}"
  local lat delivered
  lat=$(cat "$work"/probe*.json | worst_probe)
  delivered=$(cat "$work"/flood*.json | python3 -c "
import json, sys
rows = [json.loads(l) for l in sys.stdin if l.strip()]
print('%.6g' % (sum(r['launches'] for r in rows) * $(units_per_launch "$shape") / rows[0]['seconds']))")
  rm -f "$work"/probe*.json "$work"/flood*.json
  row "$round" "$shape" "$scheme" $lat "$delivered"
}

together() {  # round shape
  local json
  # Its strongest setting: 4 + 12 threads' streams outnumber CUDA's default 8 hardware queues,
  # and a probe sharing a queue with a flood waits for the flood's kernels (milliseconds).
  json=$(CUDA_DEVICE_MAX_CONNECTIONS=32 "$worker" together "$seconds" "$low" "$high" $(worker_shape "$2"))
  python3 -c "
import json, sys
j = json.loads(sys.argv[1])
print('%.1f %.1f %.6g' % (j['probe']['p50_us'], j['probe']['p99_us'],
      j['flood']['launches'] * $(units_per_launch "$2") / j['flood']['seconds']))" "$json" |
    { read -r p50 p99 delivered; row "$1" "$2" one-process "$p50" "$p99" "$delivered"; }
}

# The VMs, with the vm_ids the DB gives them: the high ones first, then the low ones.
db=$work/vgpu.db
high_vms=() low_vms=()
register() { register_vm "$bin" "$db" "$1" A "$2"; }  # uuid priority -> vm_id
for i in $(seq "$high"); do high_vms+=(--vm "$(register "probe$i" high)::probe$i"); done
for i in $(seq "$low"); do low_vms+=(--vm "$(register "flood$i" low)::flood$i"); done
mediator_yaml() {  # "key=value,..." (the variant's executor settings) -> the mediator's config
  # The rows' own executor settings; a variant's setting of the same key replaces its value.
  local -A settings=([isolation]=$isolation [isolation_poll_us]=$isolation_poll
    [slots]=$((high + low_in_flight + 2)) [max_low_in_flight]=$low_in_flight
    [high_reserved_sms]=$reserve [low_slice_us]=$slice_us [busy_poll_us]=20000)
  local setting key
  for setting in ${1//,/ }; do settings[${setting%%=*}]=${setting#*=}; done
  # isolation_poll_us is refused without isolation: process, and 0 means the same as none.
  [ "${settings[isolation_poll_us]}" = 0 ] && unset 'settings[isolation_poll_us]'
  cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, port: 0, busy_poll_us: 20000, shared_memory_dir: $work/shm,
              shared_memory_mb: 4}]
policy: {plugin: strict_priority}
executors:
  - plugin: cuda
YAML
  for key in "${!settings[@]}"; do
    echo "    $key: ${settings[$key]}" >>"$work/mediator.yaml"
  done
}

mediator_probe() {  # -> "p50 p99" of the worst high VM
  "$bin/vgpu-loadgen" --port "$port" "${high_vms[@]}" --interval-ms 10 --duration-s "$seconds" \
    --spin-us 20000 --op spin -p us=50 -p blocks=1 --json --rings --random-phase | python3 -c "
import json, sys
rows = json.load(sys.stdin)
w = max(rows, key=lambda r: r['p99_round_trip_ms'])
assert all(r['failed'] == 0 for r in rows), rows
print('%.1f %.1f' % (w['p50_round_trip_ms'] * 1e3, w['p99_round_trip_ms'] * 1e3))
# Where that probe's time went, p50/p99/mean of the slowest 1% in us, for the record.
parts = '  '.join('%s %.0f/%.0f/%.0f' % (k, v['p50_ms'] * 1e3, v['p99_ms'] * 1e3,
                  v['slowest_1pct_mean_ms'] * 1e3) for k, v in w['breakdown'].items())
print(parts, file=open(sys.argv[1], 'a'))" "$work/breakdown.txt"
}

# CPU the hypervisor took from this machine (steal_ms), and which of the mediator's threads (its
# worker's included) waited for a CPU here.
waits_start() {  # mediator pid
  python3 "$here/thread_waits.py" snapshot "$1" >"$work/waits.before"
  steal_before=$(steal_ms)
}
waits_end() {  # mediator pid -> one line
  python3 "$here/thread_waits.py" snapshot "$1" >"$work/waits.after"
  echo "steal $(($(steal_ms) - steal_before)) ms; waited for a CPU (ms waiting/ms on a" \
    "CPU/involuntary switches): $(python3 "$here/thread_waits.py" diff "$work/waits.before" \
    "$work/waits.after" 4)"
}

mediator_rows() {  # round variant (NAME[:key=value,...])
  local round=$1 scheme=${2%%:*} settings=
  [[ $2 == *:* ]] && settings=${2#*:}
  mediator_yaml "$settings"
  start_mediator "$bin/vgpu-mediator" "$work/mediator.yaml" "$work/mediator.log"
  local mediator=$mediator_pid
  port=$mediator_port
  waits_start "$mediator"
  row "$round" - "$scheme-alone" $(mediator_probe) -
  echo "round $round $scheme-alone: $(tail -1 "$work/breakdown.txt")" >>"$results.breakdown"
  echo "  $(waits_end "$mediator")" >>"$results.breakdown"
  for shape in $shapes; do
    "$bin/vgpu-loadgen" --port "$port" "${low_vms[@]}" --duration-s $((seconds + 2)) \
      --inflight 2 $(loadgen_shape "$shape") --json >"$work/mflood.json" &
    local flood=$!
    sleep 1
    local lat
    waits_start "$mediator"
    lat=$(mediator_probe)
    local waits
    waits=$(waits_end "$mediator")
    wait $flood
    local delivered
    delivered=$(python3 -c "
import json, sys
rows = json.load(open(sys.argv[1]))
assert all(r['failed'] == 0 for r in rows), rows
print('%.6g' % (sum(r['done'] for r in rows) * $(units_per_launch "$shape") / $((seconds + 2))))" \
      "$work/mflood.json")
    row "$round" "$shape" "$scheme" $lat "$delivered"
    echo "round $round $shape $scheme: $(tail -1 "$work/breakdown.txt")" >>"$results.breakdown"
    echo "  $waits" >>"$results.breakdown"
  done
  kill -TERM "$mediator"
  wait "$mediator" || true
  mediator_pid=
  grep -E "slices|admission" "$work/mediator.log" | head -2 >&2 || true
}

# Whatever way the script ends (an error, a timeout's TERM), no mediator or MPS server outlives it:
# either would hold the GPU and the caller's output pipe.
# Under `set -e` a failing command here would end the script with its status: a job that
# already ended (kill finds nothing) must not turn a finished run into exit 1.
cleanup() {
  [ -n "${mediator_pid:-}" ] && kill -TERM "$mediator_pid" 2>/dev/null || true
  echo quit | nvidia-cuda-mps-control >/dev/null 2>&1 || true
  jobs -p | xargs -r kill 2>/dev/null || true
  return 0
}
trap cleanup EXIT
trap 'exit 1' TERM INT
export CUDA_MPS_PIPE_DIRECTORY=$work/mps CUDA_MPS_LOG_DIRECTORY=$work/mpslog
mkdir -p "$CUDA_MPS_PIPE_DIRECTORY" "$CUDA_MPS_LOG_DIRECTORY"
printf 'round\tshape\tscheme\tp50_us\tp99_us\tdelivered_per_s\n'
for round in $(seq "$rounds"); do
  row "$round" - alone $("$worker" probe "$seconds" | worst_probe) -
  for shape in $shapes; do together "$round" "$shape"; done
  if nvidia-cuda-mps-control -d; then
    for shape in $shapes; do
      processes "$round" "$shape" mps-prio "CUDA_MPS_CLIENT_PRIORITY=1" ""
      processes "$round" "$shape" mps-prio-stream "CUDA_MPS_CLIENT_PRIORITY=1" high
    done
    echo quit | nvidia-cuda-mps-control
    sleep 2  # the server exits after its clients: the mediator must not become one
  else
    echo "MPS could not start; its rows are left out" >&2
  fi
  for variant in $variants; do mediator_rows "$round" "$variant"; done
done

echo
echo "medians over $rounds rounds (min..max); delivered = launches/s for spin, else"
echo "blocks*iterations/s; 'vs mps-prio' = p99 ratio and delivered ratio against that row"
python3 "$here/gpu_priority_peers_summary.py" "$results" "$high" "$low"
echo
echo "the mediator's worst probe, part by part (us, p50/p99/mean of the slowest 1%): wait = queued"
echo "in the mediator, executor = in the executor (device = of it on the GPU), outside = the rest"
cat "$results.breakdown"
