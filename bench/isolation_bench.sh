#!/usr/bin/env bash
# What `isolation: process` costs: the same executor in the mediator and in a child process,
# alternated twice in one run, one VM with one job in flight (vgpu-loadgen over TCP).
#   bench/isolation_bench.sh [build-dir] [executor: cpu|cuda] [vector_add n]
set -euo pipefail
build=$(cd "${1:-build}" && pwd)
executor=${2:-cpu}
n=${3:-65536}
B=$build/bin
dir=$(mktemp -d)
trap 'pkill -f "vgpu-mediator --config $dir" 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$dir"
"$B/vgpu-admin" --db vgpu.db register-vm --vm-uuid bench --name bench --pool A --priority high >/dev/null
token=$("$B/vgpu-admin" --db vgpu.db issue-token bench 2>/dev/null | head -c32)
port=$((20000 + RANDOM % 20000))
for iso in none process; do
  cat >"$iso.yaml" <<YAML
database: {path: vgpu.db}
transports: [{plugin: tcp, listen: 127.0.0.1, port: $port}]
policy: {plugin: strict_priority}
executors: [{plugin: $executor, isolation: $iso}]
YAML
done
load() { "$B/vgpu-loadgen" --port "$port" --vm "1:$token" --inflight 1 "$@"; }
for round in 1 2; do
  for iso in none process; do
    "$B/vgpu-mediator" --config "$dir/$iso.yaml" >"mediator-$iso.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do load --jobs 1 --op noop >/dev/null 2>&1 && break; sleep 0.1; done
    echo "round $round isolation=$iso noop:          $(load --jobs 5000 --op noop | tail -1)"
    echo "round $round isolation=$iso vector_add $n: $(load --jobs 100 --op vector_add -p n="$n" | tail -1)"
    echo "round $round isolation=$iso noop p99 rtt:  $(load --jobs 3000 --op noop | awk '$1 == 1 {print $(NF-1)}') ms"
    kill -TERM "$pid"
    wait "$pid" || true
  done
done
