#!/usr/bin/env bash
# The demo: six VMs in pools A and B at all three priorities submit `spin` jobs at the same time
# to one mediator with one CPU worker. The table shows who waited how long.
set -euo pipefail
build=${1:-build}
bin="$build/bin"
work=$(mktemp -d /tmp/vgpu-demo.XXXXXX)
mediator_pid=""
cleanup() {
  [ -n "$mediator_pid" ] && kill "$mediator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

admin() { "$bin/vgpu-admin" --db "$work/vgpu.db" "$@"; }

echo "== registering VMs in the config DB ($work/vgpu.db)"
vms=()
for spec in A:high A:medium A:low B:high B:medium B:low; do
  pool=${spec%%:*} prio=${spec##*:}
  name="vm-$pool-$prio"
  admin register-vm --vm-uuid "$(cat /proc/sys/kernel/random/uuid)" --name "$name" \
        --pool "$pool" --priority "$prio"
  token=$(admin issue-token "$name" 2>/dev/null)
  id=$(admin list-vms --json | python3 -c "import json,sys; print([v['vm_id'] for v in json.load(sys.stdin) if v['name']=='$name'][0])")
  vms+=(--vm "$id:$token:$name")
done
echo
admin list-vms
echo

echo "== starting vgpu-mediator with configs/demo.yaml (strict_priority, one CPU worker)"
"$bin/vgpu-mediator" --config configs/demo.yaml --db "$work/vgpu.db" \
  --admin-socket "$work/admin.sock" --ready-file "$work/ready.json" 2>"$work/mediator.log" &
mediator_pid=$!
for _ in $(seq 100); do [ -f "$work/ready.json" ] && break; sleep 0.05; done
[ -f "$work/ready.json" ] || { cat "$work/mediator.log"; echo "mediator did not start"; exit 1; }
port=$(python3 -c "import json; print(json.load(open('$work/ready.json'))['endpoints'][0].rsplit(':',1)[1])")
echo "listening on 127.0.0.1:$port"
echo

echo "== 6 VMs x 30 jobs of 'spin 5 ms', 4 in flight each, all at once"
"$bin/vgpu-loadgen" --port "$port" "${vms[@]}" --jobs 30 --inflight 4 --op spin -p us=5000
echo
echo "Strict priority: inside each pool high runs before medium before low, and the pools take"
echo "turns, so the high VMs wait least and the low VMs wait longest."
echo

echo "== stopping the mediator (SIGTERM)"
kill -TERM "$mediator_pid"
wait "$mediator_pid"
mediator_pid=""
grep -E "stats: pool" "$work/mediator.log" | tail -6 | sed 's/^.*stats: /  /'
grep -E "stopped cleanly" "$work/mediator.log" | sed 's/^.* info  /  /I'
