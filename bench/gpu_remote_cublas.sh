#!/usr/bin/env bash
# cuBLAS through the guest's driver and cuBLAS (issue 20): guest/cuda/samples/cublas_bench.cu
# natively, then through libvgpu-cuda + libvgpu-cublas and a real mediator with the GPU hidden
# (tests/remote_cuda/hide_gpu.sh), ROUNDS times each, alternating; prints each product's TFLOP/s
# both ways and the ratio of the medians. Needs the GPU host and root (unshare).
# usage: gpu_remote_cublas.sh BIN_DIR PLUGIN_DIR GUEST_LIB_DIR [ROUNDS]
set -u
bin=$1 plugins=$2 guest_lib=$3 rounds=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../tests/remote_cuda/hide_gpu.sh"
source "$here/start_mediator.sh"
gpu_test_start "$(mktemp -d)"
start_remote_cuda_mediator "$bin" "$plugins" blas || exit 1
for r in $(seq "$rounds"); do
  "$bin/cuda-sample-cublas_bench" | sed 's/^/native /' >>"$work/results.txt"
  run_without_gpu env LD_LIBRARY_PATH="$guest_lib:${LD_LIBRARY_PATH:-}" VGPU_PORT="$mediator_port" \
    VGPU_VM_ID="$vm" VGPU_TOKEN= VGPU_CUDA_LOCK_DIR="$work" timeout 300 \
    "$bin/cuda-sample-cublas_bench" 2>&1 | sed 's/^/remote /' >>"$work/results.txt"
done
grep -v "TFLOP/s" "$work/results.txt" | sort -u
awk '/TFLOP/ { key = $2 " " $3; v[$1, key] = v[$1, key] " " $4; keys[key] = 1 }
  function median(list,   a, n, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n ? a[int((n + 1) / 2)] : 0
  }
  END {
    printf "%-28s %22s %22s %7s\n", "product", "native TFLOP/s", "remote TFLOP/s", "ratio"
    for (k in keys) {
      n = median(v["native", k]); r = median(v["remote", k])
      printf "%-28s %8.1f (%s) %8.1f (%s) %6.2fx\n", k, n, v["native", k], r, v["remote", k], n ? r / n : 0
    }
  }' "$work/results.txt"
