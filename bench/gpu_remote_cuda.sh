#!/usr/bin/env bash
# Remote CUDA against native on one GPU host, same run: bench/remote_cuda_bench.cu's launch and
# copy figures, and the wall time of the sample programs, each ROUNDS times three ways: native,
# remote with everything on the socket (VGPU_CUDA_SHARED_MEMORY=0), and remote with copies and
# batches through the VM's shared memory and rings (the default); prints medians and ratios to
# native.
# usage: gpu_remote_cuda.sh BIN_DIR PLUGIN_DIR GUEST_LIB_DIR [ROUNDS]
set -eu
bin=$1 plugins=$2 guest_lib=$3 rounds=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/start_mediator.sh"
work=$(bench_workdir)
trap 'kill $mediator_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
db=$work/vgpu.db
vm=$(register_vm "$bin" "$db" bench A high)
cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, port: 0, busy_poll_us: ${BUSY_POLL_US:-20000},
              shared_memory_dir: $work/shm, shared_memory_mb: 256}]
policy: {plugin: strict_priority}
executors: [{plugin: cuda, slots: 4, busy_poll_us: ${BUSY_POLL_US:-20000}}]
YAML
start_mediator "$bin/vgpu-mediator" "$work/mediator.yaml" "$work/mediator.log"
remote_env=(env LD_LIBRARY_PATH="$guest_lib:${LD_LIBRARY_PATH:-}" VGPU_PORT="$mediator_port" VGPU_VM_ID="$vm" VGPU_TOKEN=
  VGPU_CUDA_LOCK_DIR="$work")
socket_env=("${remote_env[@]}" VGPU_CUDA_SHARED_MEMORY=0)
wall() {  # command... -> seconds
  local start end
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1
  end=$(date +%s%N)
  echo "$(((end - start) / 1000))e-6"
}
: >"$work/rows"
for round in $(seq "$rounds"); do
  echo "native $round $("$bin/vgpu-remote-cuda-bench")" >>"$work/rows"
  echo "socket $round $("${socket_env[@]}" "$bin/vgpu-remote-cuda-bench")" >>"$work/rows"
  echo "shm $round $("${remote_env[@]}" VGPU_CUDA_TIMING=1 "$bin/vgpu-remote-cuda-bench")" >>"$work/rows"
  # VARIANTS="VGPU_CUDA_CHUNK_KB=1024 VGPU_CUDA_COPY_THREADS=1": the benchmark again through
  # shared memory with each of those settings, for tuning.
  for variant in ${VARIANTS:-}; do
    echo "shm-$variant $round $("${remote_env[@]}" "$variant" "$bin/vgpu-remote-cuda-bench")" >>"$work/rows"
  done
  for sample in vector_add matrix_mul streams_events; do
    echo "native $round {\"$sample\": $(wall "$bin/cuda-sample-$sample")}" >>"$work/rows"
    echo "socket $round {\"$sample\": $(wall "${socket_env[@]}" "$bin/cuda-sample-$sample")}" >>"$work/rows"
    echo "shm $round {\"$sample\": $(wall "${remote_env[@]}" "$bin/cuda-sample-$sample")}" >>"$work/rows"
  done
done
python3 - "$work/rows" <<'PY'
import json, statistics, sys
values = {}
for line in open(sys.argv[1]):
    side, rnd, blob = line.split(' ', 2)
    for k, v in json.loads(blob).items():
        values.setdefault(k, {}).setdefault(side, []).append(v)
print('%-22s %12s %12s %12s %7s %7s   (medians of %d rounds; samples in seconds)' % (
    'figure', 'native', 'socket', 'shm', 'sock/n', 'shm/n', len(values['launches_per_s']['native'])))
for k, sides in values.items():
    n = statistics.median(sides['native'])
    s, m = statistics.median(sides['socket']), statistics.median(sides['shm'])
    ratio = lambda x: x / n if n else float('nan')
    print('%-22s %12.3f %12.3f %12.3f %7.2f %7.2f   native %s socket %s shm %s' % (
        k, n, s, m, ratio(s), ratio(m), sides['native'], sides['socket'], sides['shm']))
    for side in sorted(x for x in sides if x.startswith('shm-')):
        v = statistics.median(sides[side])
        print('  %-20s %12s %12s %12.3f %7s %7.2f   %s' % (side, '', '', v, '', ratio(v), sides[side]))
PY
