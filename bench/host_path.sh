#!/usr/bin/env bash
# The host path at a probe's pace: one VM sends one job every 10 ms (the issue's 100 Hz probe)
# and the round trip is what the guest sees. For each mode, one mediator, three rows:
#   ping    PING frames, answered by the transport's I/O thread: the socket floor
#   noop    a job that does nothing: scheduling and the executor hand-off on top of the floor
#   probe   the priority probe itself (spin 50 us; one block on cuda)
# Modes, in one run:
#   sleep   every thread sleeps when idle (the default configuration)
#   poll    the tcp transport and the executor poll for 20 ms before sleeping (busy_poll_us)
#   poll+client   the same, and the client watches its socket while it waits (--spin-us)
#   before  (only with OLD_BUILD=dir) another build's mediator and plugins, default settings
# Usage: bench/host_path.sh [build-dir] [executor: cpu|cuda] [seconds per row]
set -euo pipefail
source "$(dirname "$0")/start_mediator.sh"
build=$(cd "${1:-build}" && pwd)
executor=${2:-cpu}
seconds=${3:-5}
B=$build/bin
dir=$(mktemp -d)
trap 'pkill -f "vgpu-mediator --config $dir" 2>/dev/null || true; rm -rf "$dir"' EXIT
register_vm "$B" "$dir/vgpu.db" probe A high >/dev/null
probe_args=(--op spin -p us=50)
[ "$executor" = cuda ] && probe_args+=(-p blocks=1)

mode() {  # name, build dir, busy_poll_us, client spin_us
  local name=$1 from=$2 poll=$3 spin=$4 config=$dir/$1.yaml
  local tcp="{plugin: tcp, listen: 127.0.0.1, port: 0}" exe="{plugin: $executor}"
  if [ "$poll" != 0 ]; then
    tcp="{plugin: tcp, listen: 127.0.0.1, port: 0, busy_poll_us: $poll}"
    exe="{plugin: $executor, busy_poll_us: $poll}"
  fi
  cat >"$config" <<YAML
plugin_dirs: [$from/plugins]
database: {path: $dir/vgpu.db}
transports: [$tcp]
policy: {plugin: strict_priority}
executors: [$exe]
YAML
  start_mediator "$from/bin/vgpu-mediator" "$config" "$dir/$name.log"
  local pid=$mediator_pid port=$mediator_port
  for row in ping noop probe; do
    local args=(--op "$row")
    [ "$row" = probe ] && args=("${probe_args[@]}")
    "$B/vgpu-loadgen" --port "$port" --vm 1 --interval-ms 10 --duration-s "$seconds" \
      --spin-us "$spin" --json "${args[@]}" |
      python3 -c "import json,sys; r=json.load(sys.stdin)[0]; print('%-12s %-6s %6d %9.0f %9.0f %9.0f' % ('$name', '$row', r['done'], r['p50_round_trip_ms']*1000, r['p99_round_trip_ms']*1000, r.get('p50_executor_ms', 0)*1000))"
  done
  kill -TERM "$pid"
  wait "$pid" || true
}

echo "host path at 100 Hz, executor $executor, $seconds s per row"
printf '%-12s %-6s %6s %9s %9s %9s\n' mode row jobs "p50 us" "p99 us" "exec us"
[ -n "${OLD_BUILD:-}" ] && mode before "$(cd "$OLD_BUILD" && pwd)" 0 0
mode sleep "$build" 0 0
mode poll "$build" 20000 0
mode poll+client "$build" 20000 20000
