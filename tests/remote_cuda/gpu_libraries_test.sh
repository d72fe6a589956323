#!/usr/bin/env bash
# CUDA libraries on top of the guest's driver (issue 20): the cuBLAS sample
# (guest/cuda/samples/cublas_gemm.cu: SGEMM, bf16 GemmEx, strided batched SGEMM on exact
# integer inputs) runs natively, then through libvgpu-cuda and a real mediator in a namespace
# without the GPU (hide_gpu.sh); what it prints must be identical. The guest library's log
# (VGPU_CUDA_LOG: functions it does not provide, private tables it does not know) is kept in
# OUT_DIR/cublas.remote.txt: it is the list of what cuBLAS asks for that is still missing.
# usage: [DRIVER_TRACE=DIR] gpu_libraries_test.sh BIN_DIR PLUGIN_DIR GUEST_LIB_DIR [OUT_DIR]
# Exits 77 (skip) without a GPU or without root.
set -u
bin=$1 plugins=$2 guest_lib=$3 out=${4:-$(mktemp -d)}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/hide_gpu.sh"
source "$here/../../bench/start_mediator.sh"
gpu_test_start "$out"
db=$work/vgpu.db
vm=$("$bin/vgpu-admin" --db "$db" register-vm --vm-uuid lib --name lib --pool A --priority high |
  grep -oE 'vm_id[ =:]+[0-9]+' | grep -oE '[0-9]+$')
cat >"$work/mediator.yaml" <<YAML
plugin_dirs: [$plugins]
database: {path: $db}
transports: [{plugin: tcp, port: 0, shared_memory_dir: $work/shm, shared_memory_mb: 256}]
policy: {plugin: strict_priority}
executors: [{plugin: cuda, slots: 4}]
YAML
start_mediator "$bin/vgpu-mediator" "$work/mediator.yaml" "$work/mediator.log" || exit 1
"$bin/cuda-sample-cublas_gemm" >"$out/cublas.native.txt" 2>&1
native_rc=$?
run_without_gpu env LD_LIBRARY_PATH="$guest_lib:${LD_LIBRARY_PATH:-}" VGPU_PORT="$mediator_port" \
  VGPU_VM_ID="$vm" VGPU_TOKEN= VGPU_CUDA_LOCK_DIR="$work" VGPU_CUDA_LOG=1 \
  timeout 120 "$bin/cuda-sample-cublas_gemm" >"$out/cublas.remote.txt" 2>&1
remote_rc=$?
grep -v '^vgpu-cuda: ' "$out/cublas.remote.txt" >"$out/cublas.remote.program.txt"
cp "$work/mediator.log" "$out/mediator.log"
echo "native (exit $native_rc):"; cat "$out/cublas.native.txt"
echo "remote (exit $remote_rc), the program's lines:"; cat "$out/cublas.remote.program.txt"
echo "what the guest library logged (first 40 lines):"
grep '^vgpu-cuda: ' "$out/cublas.remote.txt" | grep -v "loaded module" | head -40
if [ "$native_rc" = "$remote_rc" ] && diff -q "$out/cublas.native.txt" "$out/cublas.remote.program.txt" >/dev/null; then
  echo "ok: cublas_gemm prints the same natively and remotely"
  exit 0
fi
# Once more with cuBLAS's own logs, which say what it did not like.
run_without_gpu env LD_LIBRARY_PATH="$guest_lib:${LD_LIBRARY_PATH:-}" VGPU_PORT="$mediator_port" \
  VGPU_VM_ID="$vm" VGPU_TOKEN= VGPU_CUDA_LOCK_DIR="$work" VGPU_CUDA_LOG=2 CUBLASLT_LOG_LEVEL=5 \
  CUBLAS_LOGINFO_DBG=1 CUBLAS_LOGDEST_DBG=stderr \
  timeout 120 "$bin/cuda-sample-cublas_gemm" >"$out/cublas.remote.logged.txt" 2>&1
echo "with cuBLAS's logs (last 40 lines):"
grep -v "loaded a fatbin" "$out/cublas.remote.logged.txt" | tail -40
# And natively through the tracing driver (DRIVER_TRACE: the folder of guest/cuda/tests/
# driver_trace.cpp's libcuda.so.1), to compare with the trace above.
if [ -n "${DRIVER_TRACE:-}" ]; then
  real_driver=$(ldconfig -p | awk '/libcuda\.so\.1 / {print $NF; exit}')
  env LD_LIBRARY_PATH="$DRIVER_TRACE:${LD_LIBRARY_PATH:-}" VGPU_REAL_LIBCUDA="$real_driver" \
    "$bin/cuda-sample-cublas_gemm" \
    >"$out/cublas.native.trace.txt" 2>&1
  echo "natively, through the tracing driver, after deviceConstants (first 40 lines):"
  sed -n '/deviceConstants/,$p' "$out/cublas.native.trace.txt" | grep -v "driver-trace: lookup" | head -40
fi
echo "FAIL: cublas_gemm differs (native exit $native_rc, remote exit $remote_rc)"
exit 1
