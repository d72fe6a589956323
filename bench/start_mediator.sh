# Sourced by the bench scripts: starts a vgpu-mediator and waits until it listens.
# start_mediator MEDIATOR_BINARY CONFIG LOG: sets mediator_pid and mediator_port (the first
# endpoint's); fails showing the log when the mediator is not listening within 10 s.
start_mediator() {
  local binary=$1 config=$2 log=$3 ready=$2.ready.json
  rm -f "$ready"
  "$binary" --config "$config" --ready-file "$ready" 2>"$log" &
  mediator_pid=$!
  for _ in $(seq 100); do
    [ -s "$ready" ] && break
    kill -0 "$mediator_pid" 2>/dev/null || break  # it exited: no point waiting
    sleep 0.1
  done
  if [ ! -s "$ready" ]; then
    echo "vgpu-mediator ($config) did not start; its log:" >&2
    cat "$log" >&2
    return 1
  fi
  mediator_port=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['endpoints'][0].rsplit(':',1)[1])" "$ready")
}

# register_vm BIN_DIR DB NAME POOL PRIORITY [more vgpu-admin register-vm options]: registers VM
# NAME (its uuid and its name) in the config DB and prints the vm_id it was given.
register_vm() {
  local bin=$1 db=$2 name=$3 pool=$4 priority=$5
  shift 5
  "$bin/vgpu-admin" --db "$db" register-vm --vm-uuid "$name" --name "$name" --pool "$pool" \
    --priority "$priority" "$@" | grep -oE 'vm_id[ =:]+[0-9]+' | grep -oE '[0-9]+$'
}

# bench_workdir: a scratch folder for a bench's DB, logs and the VMs' shared memory, on tmpfs
# (/dev/shm) where there is one, as a host's shared_memory_dir (/dev/shm/vgpu) is. A region in a
# disk-backed /tmp measured 2-3x slower copies on the H100 host (writes into a shared file
# mapping likely pay for the file system's dirty-page tracking), which no VM's BAR2 pays.
# BENCH_TMP=/tmp (or another folder) puts it there instead.
bench_workdir() {
  mktemp -d -p "${BENCH_TMP:-/dev/shm}" 2>/dev/null || mktemp -d
}

# steal_ms: CPU time the hypervisor has taken from this machine since boot, all CPUs together,
# in ms (/proc/stat counts it in USER_HZ jiffies, 100 a second). A tail can come from there.
steal_ms() {
  awk '/^cpu /{print $9 * 10}' /proc/stat
}
