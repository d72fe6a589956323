#!/usr/bin/env python3
"""How long each thread of a process tree waited for a CPU over an interval, from the kernel's
per-thread scheduler counters (/proc/PID/task/TID/schedstat: time on a CPU, time runnable but
waiting on a run queue; /proc/PID/task/TID/status: involuntary context switches). A polling
thread that waits on a run queue lost its CPU to another thread of this machine; time taken by
the hypervisor (steal) does not show here.

Usage:
  bench/thread_waits.py snapshot PID...        JSON of every thread of PID and its descendants
  bench/thread_waits.py diff BEFORE AFTER [N]  the N (5) threads that waited longest between the
                                               two snapshots, one line: name wait_ms/cpu_ms/
                                               involuntary switches
"""
import json
import os
import sys


def parents():
    """Every process's parent, from one read of each process's stat (field 4)."""
    out = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # it ended meanwhile
        # The name (field 2) is in parentheses and may hold spaces: split after its end.
        out[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
    return out


def tree(pids):
    """pids and all their descendants."""
    parent = parents()
    seen, todo = [], list(pids)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.append(pid)
            todo.extend(child for child, up in parent.items() if up == pid)
    return seen


def thread(pid, tid):
    base = f"/proc/{pid}/task/{tid}"
    with open(f"{base}/comm") as f:
        name = f.read().strip()
    with open(f"{base}/schedstat") as f:
        cpu_ns, wait_ns, _ = (int(x) for x in f.read().split())
    involuntary = 0
    with open(f"{base}/status") as f:
        for line in f:
            if line.startswith("nonvoluntary_ctxt_switches:"):
                involuntary = int(line.split()[1])
    return {"name": name, "cpu_ns": cpu_ns, "wait_ns": wait_ns, "involuntary": involuntary}


def snapshot(pids):
    out = {}
    for pid in tree(pids):
        try:
            for tid in os.listdir(f"/proc/{pid}/task"):
                out[f"{pid}/{tid}"] = thread(pid, tid)
        except OSError:
            continue  # the process or thread ended while it was read
    return out


def diff(before, after, count):
    rows = []
    for key, now in after.items():
        then = before.get(key, {"cpu_ns": 0, "wait_ns": 0, "involuntary": 0})
        rows.append((now["wait_ns"] - then["wait_ns"], now["cpu_ns"] - then["cpu_ns"],
                     now["involuntary"] - then["involuntary"], now["name"]))
    rows.sort(reverse=True)
    return "  ".join("%s %.1f/%.0f/%d" % (name, wait / 1e6, cpu / 1e6, inv)
                     for wait, cpu, inv, name in rows[:count])


def main(argv):
    if len(argv) >= 3 and argv[1] == "snapshot":
        print(json.dumps(snapshot([int(p) for p in argv[2:]])))
        return 0
    if len(argv) in (4, 5) and argv[1] == "diff":
        with open(argv[2]) as f:
            before = json.load(f)
        with open(argv[3]) as f:
            after = json.load(f)
        print(diff(before, after, int(argv[4]) if len(argv) == 5 else 5))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
