#!/usr/bin/env bash
# A real run for the dashboard picture: a mediator (two CPU workers, strict priority with aging),
# Debian's Prometheus scraping it every second, and three minutes of traffic from six VMs — a
# high-priority probe, medium and low floods in two pools, a VM that overruns its queue limit,
# bad tokens and unknown ops — then docs/grafana/vgpu-dashboard.png rendered from Prometheus with
# the dashboard's own queries (scripts/render-dashboard.py).
# Usage: scripts/dashboard-run.sh [build_dir] [seconds] [out.png]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
seconds=${2:-180}
out=$(realpath -m "${3:-docs/grafana/vgpu-dashboard.png}")
bin=$build/bin
for tool in prometheus gnuplot; do
  command -v $tool >/dev/null || { echo "SKIPPED: $tool is not installed (scripts/setup.sh installs it)"; exit 77; }
done
work=$(mktemp -d /tmp/vgpu-dashboard.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

admin() { VGPU_HYPERVISOR=none "$bin/vgpu-admin" --db "$work/vgpu.db" "$@"; }
declare -A vm
for spec in A:high:probe A:medium:batch-a A:low:flood-a B:low:flood-b B:medium:batch-b B:low:greedy; do
  IFS=: read -r pool prio name <<<"$spec"
  extra=()
  [ "$name" = greedy ] && extra=(--max-queued 4)
  admin register-vm --vm-uuid "$(cat /proc/sys/kernel/random/uuid)" --name "$name" --pool "$pool" \
    --priority "$prio" "${extra[@]}" >/dev/null
  token=$(admin issue-token "$name" 2>/dev/null)
  id=$(admin list-vms --json | python3 -c "import json,sys; print([v['vm_id'] for v in json.load(sys.stdin) if v['name']=='$name'][0])")
  vm[$name]="$id:$token:$name"
done

metrics_port=$(free_port)
cat >"$work/mediator.yaml" <<YAML
transports: [{plugin: tcp, listen: 127.0.0.1, port: 0}]
policy: {plugin: strict_priority, aging_ms: 2000}
executors: [{plugin: cpu, workers: 2}]
metrics: {listen: 127.0.0.1, port: $metrics_port}
stats: {interval_s: 60}
YAML
"$bin/vgpu-mediator" --config "$work/mediator.yaml" --db "$work/vgpu.db" \
  --ready-file "$work/ready.json" 2>"$work/mediator.log" &
pids+=($!)
for _ in $(seq 100); do [ -f "$work/ready.json" ] && break; sleep 0.05; done
port=$(python3 -c "import json; print(json.load(open('$work/ready.json'))['endpoints'][0].rsplit(':',1)[1])")

prom_port=$(free_port)
cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: vgpu
    static_configs: [{targets: ['127.0.0.1:$metrics_port']}]
YAML
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" >"$work/prometheus.log" 2>&1 &
pids+=($!)
start=$(date +%s)
echo "mediator on $port, metrics on $metrics_port, Prometheus on $prom_port; ${seconds}s of traffic"

lg() { "$bin/vgpu-loadgen" --port "$port" "$@" >/dev/null 2>&1 || true; }
third=$((seconds / 3))
# The whole run: a paced high-priority probe.
lg --vm "${vm[probe]}" --op spin -p us=2000 --interval-ms 50 --duration-s "$seconds" &
pids+=($!)
# First third: pool A's medium batch and both pools' low floods.
lg --vm "${vm[batch-a]}" --vm "${vm[flood-a]}" --vm "${vm[flood-b]}" --op spin -p us=4000 \
  --inflight 8 --duration-s "$third" &
pids+=($!)
sleep "$third"
# Second third: pool B's medium batch joins, the greedy VM overruns its limit of 4 queued jobs.
lg --vm "${vm[batch-b]}" --vm "${vm[flood-a]}" --op spin -p us=4000 --inflight 8 --duration-s "$third" &
pids+=($!)
lg --vm "${vm[greedy]}" --op spin -p us=3000 --inflight 12 --duration-s "$third" &
pids+=($!)
sleep "$third"
# Last third: a lighter load, a guest with a wrong token and a guest asking for unknown ops.
greedy_id=${vm[greedy]%%:*}
end=$((SECONDS + seconds - 2 * third))
while [ $SECONDS -lt $end ]; do
  "$bin/vgpu-client" --port "$port" --vm-id "$greedy_id" --token 00000000000000000000000000000000 \
    run noop >/dev/null 2>&1 || true
  IFS=: read -r id token _ <<<"${vm[batch-a]}"
  "$bin/vgpu-client" --port "$port" --vm-id "$id" --token "$token" run fft >/dev/null 2>&1 || true
  "$bin/vgpu-client" --port "$port" --vm-id "$id" --token "$token" run spin -p us=20000 >/dev/null 2>&1 || true
  sleep 0.2
done
sleep 3  # the last scrapes
stop=$(date +%s)
python3 scripts/render-dashboard.py --prometheus "http://127.0.0.1:$prom_port" \
  --dashboard docs/grafana/vgpu-dashboard.json --start "$start" --end "$stop" --step 2 \
  --out "$out"
