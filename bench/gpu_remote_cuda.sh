#!/usr/bin/env bash
# Remote CUDA against native on one GPU host, same run: bench/remote_cuda_bench.cu's launch and
# copy figures, and the wall time of the sample programs, each ROUNDS times both ways; prints
# medians and remote/native ratios.
# usage: gpu_remote_cuda.sh BIN_DIR PLUGIN_DIR GUEST_LIB_DIR [ROUNDS]
set -eu
bin=$1 plugins=$2 guest_lib=$3 rounds=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/start_mediator.sh"
work=$(mktemp -d)
trap 'kill $mediator_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
db=$work/vgpu.db
vm=$("$bin/vgpu-admin" --db "$db" register-vm --vm-uuid bench --name bench --pool A \
  --priority high | grep -oE 'vm_id[ =:]+[0-9]+' | grep -oE '[0-9]+$')
cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, port: 0, busy_poll_us: ${BUSY_POLL_US:-20000}}]
policy: {plugin: strict_priority}
executors: [{plugin: cuda, slots: 4, busy_poll_us: ${BUSY_POLL_US:-20000}}]
YAML
start_mediator "$bin/vgpu-mediator" "$work/mediator.yaml" "$work/mediator.log"
remote_env=(env LD_LIBRARY_PATH="$guest_lib:${LD_LIBRARY_PATH:-}" VGPU_PORT="$mediator_port" VGPU_VM_ID="$vm" VGPU_TOKEN=)
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
  echo "remote $round $("${remote_env[@]}" "$bin/vgpu-remote-cuda-bench")" >>"$work/rows"
  for sample in vector_add matrix_mul streams_events; do
    echo "native $round {\"$sample\": $(wall "$bin/cuda-sample-$sample")}" >>"$work/rows"
    echo "remote $round {\"$sample\": $(wall "${remote_env[@]}" "$bin/cuda-sample-$sample")}" >>"$work/rows"
  done
done
python3 - "$work/rows" <<'PY'
import json, statistics, sys
values = {}
for line in open(sys.argv[1]):
    side, rnd, blob = line.split(' ', 2)
    for k, v in json.loads(blob).items():
        values.setdefault(k, {}).setdefault(side, []).append(v)
print('%-22s %12s %12s %8s   (medians of %d rounds; samples in seconds)' % (
    'figure', 'native', 'remote', 'ratio', len(values['launches_per_s']['native'])))
for k, sides in values.items():
    n, r = statistics.median(sides['native']), statistics.median(sides['remote'])
    print('%-22s %12.3f %12.3f %8.2f   native %s remote %s' % (
        k, n, r, r / n if n else float('nan'), sides['native'], sides['remote']))
PY
