#!/usr/bin/env bash
# Runs the demo as a user would and checks what it claims: in each pool, high waits less than
# medium, and medium less than low; every job is done; the mediator stops cleanly.
set -euo pipefail
build=$1 src=$2
cd "$src"
out=$(bash scripts/demo.sh "$build" 2>&1)
echo "$out"
grep -q "stopped cleanly" <<<"$out"
awk '
  $2 ~ /^vm-[AB]-/ && NF >= 10 {
    if ($5 != 30 || $6 != 0) { print "FAIL: " $2 " did " $5 " jobs, " $6 " failed"; bad = 1 }
    wait[$3, $4] = $7
  }
  END {
    split("A B", pools, " ")
    for (i in pools) {
      pool = pools[i]
      if (!(wait[pool, "high"] < wait[pool, "medium"] && wait[pool, "medium"] < wait[pool, "low"])) {
        print "FAIL: pool " pool " mean waits not ordered high < medium < low"; bad = 1
      }
    }
    exit bad
  }' <<<"$out"
echo "demo ordering holds"
