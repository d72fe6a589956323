#!/usr/bin/env bash
# bench/thread_waits.py on a process tree of known contention: two busy loops pinned to one CPU
# (each waits on the run queue about half the time) and a sleeper (waits for nothing), all
# descendants of one parent. The diff must rank both busy loops above the sleeper, with run-queue
# waits of a good part of the interval, and count their involuntary switches.
set -euo pipefail
src=$1
work=$(mktemp -d)
cleanup() {
  if [ -n "${tree:-}" ]; then
    pkill -P "$tree" 2>/dev/null || true
    kill "$tree" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
# comm is the executable's file name: copies of sh and sleep give the threads names to find.
cp "$(command -v sh)" "$work/spin_one"
cp "$(command -v sh)" "$work/spin_two"
cp "$(command -v sleep)" "$work/sleeper"
(
  taskset -c 0 "$work/spin_one" -c 'while :; do :; done' &
  taskset -c 0 "$work/spin_two" -c 'while :; do :; done' &
  "$work/sleeper" 30 &
  wait
) &
tree=$!
sleep 0.5  # all three started
python3 "$src/bench/thread_waits.py" snapshot "$tree" >"$work/before.json"
sleep 1
python3 "$src/bench/thread_waits.py" snapshot "$tree" >"$work/after.json"
out=$(python3 "$src/bench/thread_waits.py" diff "$work/before.json" "$work/after.json" 3)
echo "$out"
python3 - "$out" <<'PY'
import sys
fields = sys.argv[1].split("  ")
names = [f.split()[0] for f in fields]
assert set(names[:2]) == {"spin_one", "spin_two"}, f"busy loops should wait longest: {names}"
assert names[2] == "sleeper", f"the sleeper should come last: {names}"
for f in fields[:2]:
    wait_ms, cpu_ms, involuntary = f.split()[1].split("/")
    assert float(wait_ms) > 200, f"two loops on one CPU should each wait >200 ms of 1 s: {f}"
    assert int(involuntary) > 0, f"a busy loop sharing a CPU is switched out involuntarily: {f}"
wait_ms = float(fields[2].split()[1].split("/")[0])
assert wait_ms < 50, f"a sleeper waits for no CPU: {fields[2]}"
print("ok")
PY
