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
echo "== bench/isolation_bench.sh (cpu executor in the mediator vs in a child process)"
bash bench/isolation_bench.sh "$build" cpu | tee "$out/isolation.txt"
echo "== bench/host_path.sh (a 100 Hz probe: ping, noop, probe; sleeping vs polling)"
bash bench/host_path.sh "$build" cpu 3 | tee "$out/host_path.txt"
