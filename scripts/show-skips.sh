#!/usr/bin/env bash
# Prints why each skipped test of the last ctest run in <build-dir> was skipped (the reason the
# test gave with GTEST_SKIP), so `./run.sh test` never shows a bare "Skipped".
#   scripts/show-skips.sh <build-dir>
set -euo pipefail
log=${1:?usage: show-skips.sh <build-dir>}/Testing/Temporary/LastTest.log
[ -f "$log" ] || exit 0
awk '
  /^[0-9]+\/[0-9]+ Testing: / { name = $3 }
  / Skipped$/ && /: Skipped$/ { want = 1; next }
  want { reason[name] = $0; want = 0 }
  /^\[  SKIPPED \] [^ ]+ \(/ { if (!(name in reason)) reason[name] = "(no reason given)" }
  END {
    n = 0
    for (t in reason) n++
    if (n == 0) exit
    for (t in reason) printf "  %s: %s\n", t, reason[t] | "sort"
    close("sort")
  }
' "$log" >"$log.skips"
if [ -s "$log.skips" ]; then
  echo "Skipped tests and why ($(wc -l <"$log.skips")):"
  cat "$log.skips"
fi
rm -f "$log.skips"
