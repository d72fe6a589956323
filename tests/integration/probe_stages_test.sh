#!/usr/bin/env bash
# bench/probe_stages.sh as a researcher runs it, with the cpu executor (no GPU) and without
# busy polling (this machine may have two cores): the mediator's VGPU_STAGE_TRACE and the
# loadgen's --trace join job by job, and every part of the round trip is there and not negative;
# with a low VM flooding beside the probe (FLOOD_ARGS) only the probe's jobs are joined.
set -euo pipefail
build=$1 src=$2
check() {  # the output of one probe_stages.sh round
  local out=$1
  read -r joined sent < <(sed -nE "s/^([0-9]+) round trips joined of the client's ([0-9]+).*/\1 \2/p" <<<"$out")
  # 2 s of a probe every 10 ms: up to 200 jobs (fewer on a loaded machine), each in both traces.
  [ "${sent:-0}" -ge 20 ] || { echo "FAIL: the client finished only ${sent:-0} jobs"; exit 1; }
  [ "$joined" = "$sent" ] || { echo "FAIL: $joined of the client's $sent jobs joined"; exit 1; }
  for part in total in schedule handoff executor deliver out device; do
    line=$(grep -E "^$part +[0-9.-]+ " <<<"$out") || { echo "FAIL: no '$part' line"; exit 1; }
    awk -v part="$part" '{ if ($2 < 0) { print "FAIL: " part " p50 is negative"; exit 1 } }' <<<"$line"
  done
  # The cpu executor's 50 us spin is the executor's part and its device time.
  awk '$1 == "executor" && $2 < 50 { print "FAIL: executor p50 below the 50 us spin"; exit 1 }' <<<"$out"
}
out=$(BUSY_POLL_US=0 EXECUTOR=cpu bash "$src/bench/probe_stages.sh" "$build/bin" "$build/plugins" 2 1)
echo "$out"
check "$out"
out=$(BUSY_POLL_US=0 EXECUTOR=cpu FLOOD_ARGS="--inflight 2 --op spin -p us=200" \
  bash "$src/bench/probe_stages.sh" "$build/bin" "$build/plugins" 2 1)
echo "$out"
grep -q "flood: --inflight 2 --op spin" <<<"$out" || { echo "FAIL: the flood is not in the header"; exit 1; }
read -r flood_done flood_failed < <(sed -nE 's/^the flood meanwhile: ([0-9]+) jobs done, ([0-9]+) failed/\1 \2/p' <<<"$out")
[ "${flood_done:-0}" -ge 100 ] && [ "$flood_failed" = 0 ] ||
  { echo "FAIL: the flood did ${flood_done:-no} jobs (${flood_failed:-?} failed)"; exit 1; }
check "$out"
echo "PASS"
