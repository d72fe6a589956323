#!/usr/bin/env bash
# Runs every benchmark program; results in JSON beside the console output.
set -euo pipefail
build=${1:-build}
out=${VGPU_BENCH_OUT:-$build/bench-results}
mkdir -p "$out"
for b in policy wire tcp file; do
  echo "== vgpu-bench-$b"
  "$build/bin/vgpu-bench-$b" --benchmark_out="$out/$b.json" --benchmark_out_format=json
done
