#!/usr/bin/env bash
# Where a high-priority probe's round trip goes when nothing competes: the probe alone on the GPU
# (a plain CUDA process) beside the same probe through the mediator, every part of the mediated
# round trip from the two traces of one clock (the mediator's VGPU_STAGE_TRACE, vgpu-loadgen
# --trace; bench/stage_trace.py joins them). Also the CPU time the host's hypervisor took from
# this machine meanwhile (steal, from /proc/stat), since a tail can come from there.
#
# Usage: bench/probe_stages.sh BIN_DIR PLUGIN_DIR [SECONDS] [ROUNDS]
# Environment: EXECUTOR (cuda; cpu needs no GPU and skips the native row), HIGH (1: probes at
#   random phases of their 10 ms), ISOLATION (none, or process), ISOLATION_POLL_US (0),
#   BUSY_POLL_US (20000: the transport's and the executor's), SLOTS (4), MEDIATOR_CPUS and
#   CLIENT_CPUS (taskset CPU lists for the mediator and the probes' client; default: any),
#   PACE (sleep: the client sleeps between probes, as most programs do; spin: it busy-waits),
#   WARM_MS and WARM_OP (a low-priority VM sending WARM_OP — noop: no kernel, or spin: a 1 us
#   kernel — every WARM_MS ms meanwhile, to tell a path that is slow from one that is cold),
#   FLOOD_ARGS (vgpu-loadgen arguments for a low-priority VM flooding meanwhile, e.g.
#   "--inflight 2 --op work -p iters=3161 -p blocks=422400 -p output=0").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/start_mediator.sh"
bin=$1 plugins=$2 seconds=${3:-8} rounds=${4:-2}
executor=${EXECUTOR:-cuda} high=${HIGH:-1} isolation=${ISOLATION:-none}
isolation_poll=${ISOLATION_POLL_US:-0} busy_poll=${BUSY_POLL_US:-20000} slots=${SLOTS:-4}
work=$(bench_workdir)
trap 'kill $(jobs -p) 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT

db=$work/vgpu.db
vms=()
for i in $(seq "$high"); do
  id=$(register_vm "$bin" "$db" "probe$i" A high)
  vms+=(--vm "$id::probe$i")
done
warm_ms=${WARM_MS:-} warm_op=${WARM_OP:-noop}
[ -n "$warm_ms" ] && warm_vm=$(register_vm "$bin" "$db" warm A low)
flood_args=${FLOOD_ARGS:-}
[ -n "$flood_args" ] && flood_vm=$(register_vm "$bin" "$db" flood A low)
cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, port: 0, busy_poll_us: $busy_poll, shared_memory_dir: $work/shm,
              shared_memory_mb: 4}]
policy: {plugin: strict_priority}
executors:
  - plugin: $executor
$([ "$executor" = cuda ] && echo "    isolation: $isolation")
$([ "$isolation_poll" -gt 0 ] && echo "    isolation_poll_us: $isolation_poll")
    $([ "$executor" = cuda ] && echo slots || echo workers): $slots
    busy_poll_us: $busy_poll
YAML

# start_mediator runs one binary: this one places the mediator on MEDIATOR_CPUS.
printf '#!/bin/sh\nexec %s "%s" "$@"\n' "${MEDIATOR_CPUS:+taskset -c $MEDIATOR_CPUS}" \
  "$bin/vgpu-mediator" >"$work/mediator"
chmod +x "$work/mediator"

for round in $(seq "$rounds"); do
  if [ "$executor" = cuda ]; then
    echo "round $round, native probe alone: $("$bin/vgpu-gpu-share-worker" probe "$seconds")"
  fi
  VGPU_STAGE_TRACE=$work/mediator.trace start_mediator "$work/mediator" "$work/mediator.yaml" \
    "$work/mediator.log"
  before=$(steal_ms)
  warm=
  if [ -n "$warm_ms" ]; then
    "$bin/vgpu-loadgen" --port "$mediator_port" --vm "$warm_vm::warm" --interval-ms "$warm_ms" \
      --duration-s $((seconds + 1)) --rings --op "$warm_op" $([ "$warm_op" = spin ] && echo "-p us=1 -p blocks=1") \
      >/dev/null &
    warm=$!
  fi
  flood=
  if [ -n "$flood_args" ]; then
    # shellcheck disable=SC2086 # the arguments are a list
    "$bin/vgpu-loadgen" --port "$mediator_port" --vm "$flood_vm::flood" \
      --duration-s $((seconds + 2)) $flood_args --json >"$work/flood.json" &
    flood=$!
    sleep 1
  fi
  ${CLIENT_CPUS:+taskset -c "$CLIENT_CPUS"} "$bin/vgpu-loadgen" --port "$mediator_port" "${vms[@]}" --interval-ms 10 \
    --duration-s "$seconds" --spin-us "$busy_poll" --op spin -p us=50 -p blocks=1 --rings --pace "${PACE:-sleep}" \
    --random-phase --trace "$work/loadgen.trace" >/dev/null
  after=$(steal_ms)
  [ -z "$warm" ] || wait "$warm"
  [ -z "$flood" ] || wait "$flood"
  kill -TERM "$mediator_pid"
  wait "$mediator_pid" || true
  echo "round $round, through the mediator ($executor, isolation $isolation," \
    "$high probe(s), pace ${PACE:-sleep}${warm_ms:+, warm: $warm_op every $warm_ms ms}${flood_args:+, flood: $flood_args}, CPUs ${MEDIATOR_CPUS:-any}/${CLIENT_CPUS:-any}); steal meanwhile: $((after - before)) ms of CPU"
  [ -z "$flood" ] || python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))[0]
print('the flood meanwhile: %d jobs done, %d failed' % (r['done'], r['failed']))" "$work/flood.json"
  python3 "$here/stage_trace.py" "$work/loadgen.trace" "$work/mediator.trace"
done
