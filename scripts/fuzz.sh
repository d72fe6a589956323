#!/usr/bin/env bash
# Builds the libFuzzer targets with clang under ASan and UBSan (tests/fuzz) and runs each, starting
# from its seed corpus in the repository. New inputs go to a scratch folder, never into the repo;
# a crash stops with the reproducing input's path.
#   scripts/fuzz.sh                  10 seconds per target (what ./run.sh test runs)
#   scripts/fuzz.sh --seconds 600    a longer run
#   scripts/fuzz.sh --runs 10000000  a fixed number of executions per target
#   scripts/fuzz.sh ... TARGET...    only these targets (frame_header, ring, ...)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${VGPU_FUZZ_BUILD_DIR:-build-fuzz}
limit=(-max_total_time=10)
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) limit=(-max_total_time="$2"); shift 2 ;;
    --runs) limit=(-runs="$2"); shift 2 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if [ ${#targets[@]} -eq 0 ]; then
  targets=(frame_header frame_metadata ring shared_extents spool compat_request stream_session
           config op_params cuda_calls)
fi

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DVGPU_FUZZ=ON >/dev/null
if ! cmake --build "$build_dir" --target vgpu-fuzz-targets >"$build_dir/build.log" 2>&1; then
  grep -E 'error|FAILED' "$build_dir/build.log" | head -20
  echo "fuzz.sh: building the fuzz targets failed; see $build_dir/build.log" >&2
  exit 1
fi

scratch=$(mktemp -d /tmp/vgpu-fuzz.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t" "$scratch/$t-crash"
  log="$scratch/$t.log"
  # -rss_limit_mb: a target that grows past it is a finding too. Inputs are bounded by each
  # target's own size checks; -max_len lets the stream target see whole conversations.
  if "$build_dir/bin/fuzz_$t" "${limit[@]}" -rss_limit_mb=2048 -max_len=65536 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$scratch/$t-crash/" "$scratch/$t" \
    "tests/fuzz/corpus/$t" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    secs=$(grep -o 'Done [0-9]* runs in [0-9]* second' "$log" | grep -o 'in [0-9]*' | grep -o '[0-9]*' || echo '?')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || echo '?')
    printf 'fuzz %-16s %12s runs in %6s s, coverage %5s edges, 0 crashes\n' "$t" "$runs" "$secs" "$cov"
    passed=$((passed + 1))
  else
    echo "fuzz $t FAILED:"
    grep -E 'ERROR|SUMMARY|Test unit written|deadly signal' "$log" | head -20
    kept=tests/fuzz/crashes/$t
    mkdir -p "$kept"
    cp "$scratch/$t-crash/"* "$kept/" 2>/dev/null || true
    echo "  reproducing inputs copied to $kept/ (replay: $build_dir/bin/fuzz_$t FILE)"
    failed=$((failed + 1))
  fi
done
echo "fuzz: $passed of $((passed + failed)) targets ran clean"
[ "$failed" -eq 0 ]
