#!/usr/bin/env bash
# Before/after on one machine in one run: the Google Benchmark programs of two builds (say, the
# last release and a change), alternating build by build for ROUNDS rounds so drift and noise hit
# both alike, then each benchmark's median time and the ratio after/before (below 1: faster).
#   scripts/bench-compare.sh BEFORE_BUILD AFTER_BUILD [ROUNDS] [PROGRAMS...]
# PROGRAMS default to: policy wire tcp file (bin/vgpu-bench-<name> in each build).
# VGPU_BENCH_FILTER: a --benchmark_filter regex; VGPU_BENCH_KEEP=1 keeps the raw JSON.
set -euo pipefail
before=$(realpath "$1") after=$(realpath "$2") rounds=${3:-3}
shift $(($# < 3 ? $# : 3))
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=(policy wire tcp file)
out=$(mktemp -d /tmp/vgpu-bench-compare.XXXXXX)
for ((r = 1; r <= rounds; r++)); do
  for p in "${programs[@]}"; do
    for side in before after; do
      dir=${!side}
      echo "round $r/$rounds: $side vgpu-bench-$p" >&2
      "$dir/bin/vgpu-bench-$p" --benchmark_filter="${VGPU_BENCH_FILTER:-.}" \
        --benchmark_format=json --benchmark_out_format=json \
        --benchmark_out="$out/$side-$p-$r.json" >/dev/null
    done
  done
done
python3 - "$out" <<'PY'
import glob, json, os, statistics, sys
out = sys.argv[1]
times = {}
for path in glob.glob(os.path.join(out, "*.json")):
    side = os.path.basename(path).split("-")[0]
    for b in json.load(open(path))["benchmarks"]:
        if b.get("run_type") == "aggregate":
            continue
        ns = b["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[b["time_unit"]]
        times.setdefault(b["name"], {}).setdefault(side, []).append(ns)
print("| benchmark | before (median) | after (median) | after / before |")
print("|---|---|---|---|")
def show(ns):
    return "%.1f us" % (ns / 1e3) if ns >= 1e3 else "%.0f ns" % ns
for name in sorted(times):
    t = times[name]
    if "before" not in t or "after" not in t:
        continue
    b, a = statistics.median(t["before"]), statistics.median(t["after"])
    print("| %s | %s | %s | %.2f |" % (name, show(b), show(a), a / b))
PY
[ -n "${VGPU_BENCH_KEEP:-}" ] && echo "raw results: $out" >&2 || rm -rf "$out"
