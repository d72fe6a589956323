#!/usr/bin/env bash
# bench/gpu_priority_peers_summary.py on rows of known figures (the GPU script's own output needs
# a GPU): medians over rounds, ratios against the mps-prio row of the same shape, and every goal
# checked for every mediator variant the rows name, including one the script has never seen.
set -euo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rows=$work/rows.tsv
# round shape scheme p50 p99 delivered
{
  for r in 1 2 3; do
    printf '%s\t-\talone\t80\t%s\t-\n' $r $((100 + 10 * r))          # p99 median 120
    printf '%s\t-\tmediator-alone\t90\t%s\t-\n' $r $((125 + 5 * r))  # 135: 1.12x, met
    printf '%s\t-\tmediator-warm-alone\t90\t%s\t-\n' $r $((150 + r)) # 152: 1.27x, not met
    printf '%s\t-\tmediator-next-alone\t90\t%s\t-\n' $r 100          # 100: 0.83x, met
    printf '%s\tshort\tmps-prio\t85\t100\t10\n' $r
    printf '%s\tshort\tmediator\t95\t%s\t9.6\n' $r $((88 + r))      # 90: 0.90, met; 0.96 met
    printf '%s\tshort\tmediator-warm\t95\t120\t9\n' $r              # 1.20 and 0.90: not met
    printf '%s\tshort\tmediator-next\t95\t100\t9.7\n' $r            # p99 equal: met; 0.97 met
  done
} >"$rows"
out=$(python3 "$src/bench/gpu_priority_peers_summary.py" "$rows" 1 4)
echo "$out"
expect() { grep -qF -- "$1" <<<"$out" || { echo "FAIL: no line with '$1'"; exit 1; }; }
expect "1 high + 4 low VMs"
expect "  met      nothing competing: mediator p99 1.12x alone <= 1.2x"
expect "  NOT met  nothing competing: mediator-warm p99 1.27x alone <= 1.2x"
expect "  met      nothing competing: mediator-next p99 0.83x alone <= 1.2x"
expect "  met      short: mediator p99 <= mps-prio p99"
expect "  met      short: mediator, low VMs' work >= 0.95 x mps-prio"
expect "  NOT met  short: mediator-warm p99 <= mps-prio p99"
expect "  NOT met  short: mediator-warm, low VMs' work >= 0.95 x mps-prio"
expect "  met      short: mediator-next p99 <= mps-prio p99"
expect "  met      short: mediator-next, low VMs' work >= 0.95 x mps-prio"
# The short mediator row: p50 95, p99 median 90 (89..91), work 9.6, 0.90 and 0.960 of mps-prio.
grep -qE '^short +mediator +95 +90 +89\.\.91 +9\.6 +0\.90 +0\.960$' <<<"$out" ||
  { echo "FAIL: the short mediator row"; exit 1; }
echo "PASS"
