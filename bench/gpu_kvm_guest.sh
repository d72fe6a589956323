#!/usr/bin/env bash
# The high-priority probe from inside a real VM under KVM, beside the same probe sent from the
# host, against one mediator on the GPU (same run, same configuration as gpu_priority_peers.sh's
# mediator rows). The guest is the test guest of the VM tests (scripts/prepare-vm-tests.sh): the
# vgpu-stub gives it its identity and, as BAR2, the shared memory whose end holds the rings;
# `vgpu-client probe` measures round trips in the guest and how fast the guest reads and writes
# that BAR (an uncached mapping would show as a slow read).
#
# Rows: host-alone, guest-alone (nothing competing), then host and guest under LOW low VMs'
# fixed-work flood (2 ms blocks, sliced by the executor).
# Usage: bench/gpu_kvm_guest.sh BIN_DIR PLUGIN_DIR VM_DIR [SECONDS]
#   VM_DIR holds qemu-system-x86_64, vmlinuz, initramfs.gz and fw/ (firmware for -L); QEMU_LIBS
#   (optional) a folder of the libraries that QEMU needs. Needs /dev/kvm and a GPU; for trying
#   the script without them, EXECUTOR=cpu ACCEL=tcg (figures meaningless).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/start_mediator.sh"
bin=$1 plugins=$2 vm=$3 seconds=${4:-5}
low=${LOW:-4} executor=${EXECUTOR:-cuda} accel=${ACCEL:-kvm}
work=$(bench_workdir)
count=$((seconds * 100))
worker=$bin/vgpu-gpu-share-worker

# Under `set -e` a kill that finds its process gone would end the script with exit 1.
cleanup() {
  [ -n "${mediator_pid:-}" ] && kill -TERM "$mediator_pid" 2>/dev/null || true
  jobs -p | xargs -r kill 2>/dev/null || true
  return 0
}
trap cleanup EXIT
trap 'exit 1' TERM INT

db=$work/vgpu.db
register_vm "$bin" "$db" guest A high >/dev/null
register_vm "$bin" "$db" hostprobe A high >/dev/null
low_vms=()
for i in $(seq "$low"); do
  id=$(register_vm "$bin" "$db" "flood$i" A low)
  low_vms+=(--vm "$id::flood$i")
done
device=$("$bin/vgpu-admin" --db "$db" device-args guest --rotate-token --yes --json |
  python3 -c "import json,sys; print(json.load(sys.stdin)['device'])")
guest_id=$("$bin/vgpu-admin" --db "$db" show-vm guest --json |
  python3 -c "import json,sys; print(json.load(sys.stdin)['vm_id'])")
host_id=$("$bin/vgpu-admin" --db "$db" show-vm hostprobe --json |
  python3 -c "import json,sys; print(json.load(sys.stdin)['vm_id'])")
mkdir -p "$work/shm"
cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, listen: 127.0.0.1, port: 0, busy_poll_us: 20000,
              shared_memory_dir: $work/shm, shared_memory_mb: 16}]
policy: {plugin: strict_priority}
executors:
YAML
if [ "$executor" = cuda ]; then
  cat >>"$work/mediator.yaml" <<YAML
  - plugin: cuda
    slots: 5
    max_low_in_flight: 2
    low_slice_us: 50
    busy_poll_us: 20000
YAML
else
  echo "  - {plugin: cpu, workers: 2}" >>"$work/mediator.yaml"
fi
start_mediator "$bin/vgpu-mediator" "$work/mediator.yaml" "$work/mediator.log"
port=$mediator_port

ns_per_iter=2000000 sms=1  # the cpu executor: a token flood
[ "$executor" = cuda ] && read -r ns_per_iter sms < <("$worker" calibrate)
iters=$(python3 -c "print(int(2e6 / $ns_per_iter))")
flood_op=(--op work -p "iters=$iters" -p "blocks=$((32 * sms))" -p output=0)

host_probe() {  # -> one JSON line like the guest's
  "$bin/vgpu-loadgen" --port "$port" --vm "$host_id::hostprobe" --interval-ms 10 \
    --duration-s "$seconds" --spin-us 20000 --op spin -p us=50 -p blocks=1 --json --rings |
    python3 -c "
import json, sys
r = json.load(sys.stdin)[0]
print(json.dumps({'probe': 'host', 'done': r['done'], 'failed': r['failed'],
                  'p50_us': r['p50_round_trip_ms'] * 1e3, 'p99_us': r['p99_round_trip_ms'] * 1e3}))"
}

# The guest: boots under KVM, probes once with nothing competing, waits for the host's flood to
# start (a file on a 9p share would need the share; a fixed pause is enough here), probes again.
guest_script="c='vgpu-client --host 10.0.2.2 --port $port --rings probe spin -p us=50 -p blocks=1 --count $count --interval-ms 10 --spin-us 20000'
echo GUEST-ALONE \$(\$c)
sleep $((2 * seconds + 2))
echo GUEST-FLOOD \$(\$c)"
script64=$(printf '%s' "$guest_script" | base64 -w0)
region=$work/shm/vm$guest_id
export LD_LIBRARY_PATH=${QEMU_LIBS:-}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
"$vm/qemu-system-x86_64" -machine pc -m 512 -smp 2 -nodefaults -no-user-config -display none \
  -no-reboot -serial "file:$work/console.log" -accel "$accel" -cpu "$([ "$accel" = kvm ] && echo host || echo max)" -L "$vm/fw" \
  -kernel "$vm/vmlinuz" -initrd "$vm/initramfs.gz" \
  -append "console=ttyS0 quiet panic=-1 vgpu.script=$script64" \
  -object "memory-backend-file,id=vgpushm,mem-path=$region,size=16M,share=on" \
  -device "$device,memdev=vgpushm" \
  -netdev user,id=net0 -device virtio-net-pci,netdev=net0,romfile= &
qemu=$!
unset LD_LIBRARY_PATH
for _ in $(seq 300); do grep -q GUEST-ALONE "$work/console.log" 2>/dev/null && break; sleep 0.1; done
grep -q GUEST-ALONE "$work/console.log" || { echo "the guest did not probe:"; cat "$work/console.log"; exit 1; }
echo "host-alone  $(host_probe)"
echo "guest-alone $(grep -o 'GUEST-ALONE .*' "$work/console.log" | cut -d' ' -f2-)"
"$bin/vgpu-loadgen" --port "$port" "${low_vms[@]}" --duration-s $((2 * seconds + 6)) --inflight 2 \
  "${flood_op[@]}" --json >"$work/flood.json" &
flood=$!
sleep 1
echo "host-flood  $(host_probe)"
wait $flood || true
wait $qemu || true
echo "guest-flood $(grep -o 'GUEST-FLOOD .*' "$work/console.log" | cut -d' ' -f2- || echo none)"
python3 -c "
import json, sys
rows = json.load(open(sys.argv[1]))
print('low VMs: %d jobs done, %d failed' % (sum(r['done'] for r in rows), sum(r['failed'] for r in rows)))" \
  "$work/flood.json"
grep -E "VGPU-GUEST-EXIT|vgpu-client:" "$work/console.log" || true
