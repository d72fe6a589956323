#!/usr/bin/env bash
# CUDA libraries on top of the guest's driver (issue 20). Each program runs natively, then
# through libvgpu-cuda and a real mediator in a namespace without the GPU (hide_gpu.sh); what it
# prints must be identical:
#   cublas  guest/cuda/samples/cublas_gemm.cu: SGEMM, bf16 GemmEx, strided batched SGEMM on exact
#           integer inputs
#   torch   tests/remote_cuda/torch_probe.py: tensors, matmul, events, out of memory, a
#           convolution forward and backward, eight training steps (skipped without PyTorch);
#           the guest's cuBLAS and cuBLASLt preloaded
# The guest library's log (VGPU_CUDA_LOG: functions it does not provide, private tables it does
# not know) is kept in OUT_DIR/NAME.remote.txt. When a program differs it runs again with the
# full trace, and natively through the tracing driver if DRIVER_TRACE names the folder of
# guest/cuda/tests/driver_trace.cpp's libcuda.so.1 (which also logs every private-table call).
# usage: [DRIVER_TRACE=DIR] [ONLY=cublas|torch] [TRACE_REMOTE=1] gpu_libraries_test.sh BIN_DIR PLUGIN_DIR GUEST_LIB_DIR [OUT_DIR]
# Exits 77 (skip) without a GPU or without root.
set -u
bin=$1 plugins=$2 guest_lib=$3 out=${4:-$(mktemp -d)}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/hide_gpu.sh"
source "$here/../../bench/start_mediator.sh"
gpu_test_start "$out"
start_remote_cuda_mediator "$bin" "$plugins" lib || exit 1

failed=0
preload=  # libraries the remote run preloads (see the torch case below)
remote() {  # LOG_LEVEL CMD...: CMD through the guest library, the GPU hidden
  local level=$1
  shift
  run_without_gpu env LD_LIBRARY_PATH="$guest_lib:${LD_LIBRARY_PATH:-}" ${preload:+LD_PRELOAD=$preload} \
    VGPU_PORT="$mediator_port" \
    VGPU_VM_ID="$vm" VGPU_TOKEN= VGPU_CUDA_LOCK_DIR="$work" VGPU_CUDA_LOG="$level" \
    timeout 300 "$@"
}
compare() {  # NAME CMD...
  local name=$1
  shift
  [ -n "${ONLY:-}" ] && [ "$ONLY" != "$name" ] && return
  "$@" >"$out/$name.native.txt" 2>"$out/$name.native.err"
  local native_rc=$?
  remote 1 "$@" >"$out/$name.remote.txt" 2>"$out/$name.remote.err"
  local remote_rc=$?
  echo "== $name native (exit $native_rc):"; cat "$out/$name.native.txt"; grep -i "time" "$out/$name.native.err"
  echo "== $name remote (exit $remote_rc):"; cat "$out/$name.remote.txt"; grep -i "time" "$out/$name.remote.err"
  echo "what the guest library logged (first 30 lines):"
  grep '^vgpu-cuda: ' "$out/$name.remote.err" | grep -v "loaded" | head -30
  if [ "$native_rc" = "$remote_rc" ] && diff -q "$out/$name.native.txt" "$out/$name.remote.txt" >/dev/null; then
    echo "ok: $name prints the same natively and remotely"
    # TRACE_REMOTE=1: the logged run below also when it passed (where a program's time goes).
    [ -z "${TRACE_REMOTE:-}" ] && return
  else
    failed=1
    echo "FAIL: $name differs (native exit $native_rc, remote exit $remote_rc)"
  fi
  # Once more with the libraries' own logs and the full trace, which say what they did not like.
  remote 2 env CUBLASLT_LOG_LEVEL=5 CUBLAS_LOGINFO_DBG=1 CUBLAS_LOGDEST_DBG=stderr VGPU_CUDA_TIMING=1 "$@" \
    >"$out/$name.remote.logged.txt" 2>&1
  echo "with the libraries' logs (last 40 lines):"
  grep -v "loaded a fatbin" "$out/$name.remote.logged.txt" | tail -40
  if [ -n "${DRIVER_TRACE:-}" ]; then
    local real_driver
    real_driver=$(ldconfig -p | awk '/libcuda\.so\.1 / {print $NF; exit}')
    env LD_LIBRARY_PATH="$DRIVER_TRACE:${LD_LIBRARY_PATH:-}" VGPU_REAL_LIBCUDA="$real_driver" "$@" \
      >"$out/$name.native.trace.txt" 2>&1
    echo "natively through the tracing driver: private tables and their calls (first 60):"
    grep -E "driver-trace: (table|export)" "$out/$name.native.trace.txt" | head -60
  fi
}

compare cublas "$bin/cuda-sample-cublas_gemm"
if python3 -c "import torch" 2>/dev/null; then
  # PyTorch's wheel finds the cuBLAS and cuBLASLt it bundles through its RPATH, ahead of
  # LD_LIBRARY_PATH; the guest's take their place when preloaded (a library already loaded under
  # a name is the one every later request for that name gets).
  preload="$guest_lib/libcublas.so.13:$guest_lib/libcublasLt.so.13" compare torch python3 "$here/torch_probe.py"
else
  echo "skip: torch (python3 cannot import torch here)"
fi
cp "$work/mediator.log" "$out/mediator.log"
exit $failed
