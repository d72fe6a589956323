#!/usr/bin/env bash
# Unmodified CUDA programs (guest/cuda/samples, built by nvcc with static cudart) on the GPU
# host: each runs natively, then through libvgpu-cuda and a real mediator with the cuda
# executor, in a namespace where the GPU and the real driver cannot be reached (hide_gpu.sh);
# what they print must be identical, three ways: with everything on the socket, with copies and
# batches through the VM's shared memory and rings (the default), and with every copy, however
# small, through shared memory. Then the remote-only cases: a VM's memory quota, and a
# faulting program next to another VM's program, which must not notice.
# usage: gpu_samples_test.sh BIN_DIR PLUGIN_DIR GUEST_LIB_DIR [OUT_DIR]
# Exits 77 (skip) without a GPU or without root.
set -u
bin=$1 plugins=$2 guest_lib=$3 out=${4:-$(mktemp -d)}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/hide_gpu.sh"
source "$here/../../bench/start_mediator.sh"
gpu_test_start "$out"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

db=$work/vgpu.db
vm_tenant=$(register_vm "$bin" "$db" tenant A high)
vm_other=$(register_vm "$bin" "$db" other A low)
vm_quota=$(register_vm "$bin" "$db" quota A medium --memory-quota-mb 256)
# A VM of a shared pool: its programs share one process and context with the pool's others.
"$bin/vgpu-admin" --db "$db" create-pool S >/dev/null 2>&1 || true
vm_shared=$(register_vm "$bin" "$db" pooled S high)
cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, port: 0, shared_memory_dir: $work/shm, shared_memory_mb: 256}]
policy: {plugin: strict_priority}
executors: [{plugin: cuda, slots: 4, remote_shared_pools: S}]
YAML
start_mediator "$bin/vgpu-mediator" "$work/mediator.yaml" "$work/mediator.log" || exit 1

mode_env=()  # how the guest library copies: set per mode below
remote() {  # vm_id program args... (stdout and stderr to stdout)
  local vm=$1
  shift
  run_without_gpu env LD_LIBRARY_PATH="$guest_lib" VGPU_PORT="$mediator_port" VGPU_VM_ID="$vm" \
    VGPU_TOKEN= VGPU_CUDA_LOCK_DIR="$work" VGPU_CUDA_LOG=1 "${mode_env[@]}" "$@" 2>&1
}

for mode in socket shm shm-all; do
  case $mode in
    socket) mode_env=(VGPU_CUDA_SHARED_MEMORY=0) ;;
    shm) mode_env=() ;;
    shm-all) mode_env=(VGPU_CUDA_STAGING_MIN_KB=0) ;;
  esac
  for sample in vector_add matrix_mul streams_events device_query error_cases globals; do
    [ -f "$out/$sample.native.txt" ] || { "$bin/cuda-sample-$sample" >"$out/$sample.native.txt" 2>&1; echo $? >"$out/$sample.native.rc"; }
    native_rc=$(cat "$out/$sample.native.rc")
    remote "$vm_tenant" "$bin/cuda-sample-$sample" >"$out/$sample.$mode.txt"
    remote_rc=$?
    # The guest driver's own lines (vgpu-cuda: ...) go to stderr; compare the program's output.
    grep -v '^vgpu-cuda: ' "$out/$sample.$mode.txt" >"$out/$sample.$mode.program.txt"
    if [ "$native_rc" = "$remote_rc" ] && diff -u "$out/$sample.native.txt" \
        "$out/$sample.$mode.program.txt" >"$out/$sample.$mode.diff"; then
      echo "ok: $sample prints the same natively and remotely, $mode (exit $native_rc)"
    else
      fail "$sample ($mode): native exit $native_rc, remote exit $remote_rc"
      cat "$out/$sample.$mode.diff" "$out/$sample.$mode.txt"
    fi
    # The path the mode names is the one taken.
    if [ "$mode" = socket ] && grep -q 'through shared memory slot' "$out/$sample.$mode.txt"; then
      fail "$sample ($mode) used shared memory"
    elif [ "$mode" != socket ] && ! grep -q 'copies go through shared memory slot' "$out/$sample.$mode.txt"; then
      fail "$sample ($mode) did not get a slot of shared memory"
    fi
  done
done
mode_env=()

# The same programs in a shared pool (one context for the pool, a default stream per program):
# two at a time, so they really share it.
for sample in vector_add matrix_mul streams_events; do
  remote "$vm_shared" "$bin/cuda-sample-$sample" >"$out/$sample.shared1.txt" &
  first=$!
  remote "$vm_shared" "$bin/cuda-sample-$sample" >"$out/$sample.shared2.txt"
  wait $first
  if grep -v '^vgpu-cuda: ' "$out/$sample.shared1.txt" | diff -q - "$out/$sample.native.txt" >/dev/null &&
      grep -v '^vgpu-cuda: ' "$out/$sample.shared2.txt" | diff -q - "$out/$sample.native.txt" >/dev/null; then
    echo "ok: $sample, twice at once in a shared pool, prints what it prints natively"
  else
    fail "$sample in a shared pool"
    cat "$out/$sample.shared1.txt" "$out/$sample.shared2.txt"
  fi
done

# The quota: 256 MiB for this VM, whatever the GPU has.
remote "$vm_quota" "$bin/cuda-sample-quota" 16 >"$out/quota.remote.txt"
if grep -q "allocated 256 MiB, then cudaErrorMemoryAllocation; device reports total 256 MiB" \
    "$out/quota.remote.txt" && grep -q "after freeing: cudaSuccess" "$out/quota.remote.txt" &&
    grep -q "quota" "$out/quota.remote.txt"; then
  echo "ok: the VM's 256 MiB quota holds, and says so"
else
  fail "quota"
  cat "$out/quota.remote.txt"
fi

# A program that faults, next to another VM's programs: only the faulting one sees errors.
( for i in 1 2 3; do remote "$vm_other" "$bin/cuda-sample-matrix_mul"; done ) >"$out/neighbour.txt" &
neighbour=$!
for i in 1 2 3; do remote "$vm_tenant" "$bin/cuda-sample-error_cases"; done >"$out/faulting.txt"
wait $neighbour
if [ "$(grep -c '^PASSED' "$out/neighbour.txt")" = 3 ] &&
    [ "$(grep -c 'out of bounds: sync cudaErrorIllegalAddress' "$out/faulting.txt")" = 3 ]; then
  echo "ok: three faulting programs left the other VM's three programs unharmed"
else
  fail "fault isolation"
  cat "$out/neighbour.txt" "$out/faulting.txt"
fi
if ! kill -0 "$mediator_pid" 2>/dev/null; then fail "the mediator died"; fi
cp "$work/mediator.log" "$out/mediator.log"
echo "$failures failure(s)"
[ "$failures" = 0 ]
