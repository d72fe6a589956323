# Sourced: run_without_gpu CMD... runs CMD in a mount namespace where the GPU cannot be reached
# directly: every /dev/nvidia* node and every libcuda and libnvidia library the dynamic linker
# knows is an empty file (the rest of /dev stays: Python reads /dev/urandom). A program that runs
# correctly there did its GPU work through the mediator. Needs root (unshare -m).
run_without_gpu() {
  unshare -m --propagation private bash -c '
    set -e
    scratch=$(mktemp -d)
    : > "$scratch/empty"
    mkdir "$scratch/empty-dir"
    for lib in $(ldconfig -p | grep -E "libcuda\.so|libnvidia-" | awk "{print \$NF}" | xargs -r readlink -f | sort -u); do
      mount --bind "$scratch/empty" "$lib"
    done
    for node in /dev/nvidia*; do
      [ -e "$node" ] || continue
      if [ -d "$node" ]; then mount --bind "$scratch/empty-dir" "$node"; else mount --bind "$scratch/empty" "$node"; fi
    done
    for node in /dev/nvidia*; do
      if [ -c "$node" ]; then echo "hide_gpu: $node is still a device" >&2; exit 99; fi
    done
    exec "$@"' run_without_gpu "$@"
}

# The GPU tests' common start: exits 77 (skip) without a GPU or without root (run_without_gpu
# needs unshare -m); else makes OUT_DIR and a scratch folder `work` (bench_workdir, from
# bench/start_mediator.sh, sourced first), removed at exit with the mediator the test starts
# (mediator_pid).
gpu_test_start() {  # OUT_DIR
  if ! nvidia-smi -L >/dev/null 2>&1; then echo "skip: no GPU here"; exit 77; fi
  if [ "$(id -u)" != 0 ]; then echo "skip: hiding the GPU needs root (unshare -m)"; exit 77; fi
  mkdir -p "$1"
  work=$(bench_workdir)
  trap 'kill $mediator_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
}

# A mediator for one VM's remote CUDA programs (needs bench/start_mediator.sh sourced and
# gpu_test_start run): registers VM NAME (pool A, high) in a new database under `work`, starts
# the mediator with the cuda executor and TCP with shared memory, and sets `vm` (its id) and
# `mediator_port`. Returns non-zero if the mediator did not start. BUSY_POLL_US (unset: none)
# has the transport and the executor poll that long before sleeping, as configs/gpu.yaml does.
start_remote_cuda_mediator() {  # BIN_DIR PLUGIN_DIR NAME
  local bin=$1 plugins=$2 name=$3 poll=${BUSY_POLL_US:-0}
  vm=$(register_vm "$bin" "$work/vgpu.db" "$name" A high)
  cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $work/vgpu.db}
transports: [{plugin: tcp, port: 0, shared_memory_dir: $work/shm, shared_memory_mb: 256,
              busy_poll_us: $poll}]
policy: {plugin: strict_priority}
executors: [{plugin: cuda, slots: 4, busy_poll_us: $poll}]
YAML
  start_mediator "$bin/vgpu-mediator" "$work/mediator.yaml" "$work/mediator.log"
}
