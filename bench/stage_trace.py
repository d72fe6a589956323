#!/usr/bin/env python3
"""Splits each round trip of a paced probe into where its time went, from two traces of the same
host's clock: vgpu-loadgen --trace (the client's send and receive) and the mediator's
VGPU_STAGE_TRACE (docs/metrics.md, "Where a job's time goes").

Usage: bench/stage_trace.py LOADGEN_TRACE MEDIATOR_TRACE [--vm VM_ID]

Parts (microseconds), which add up to the round trip from the start of the client's submit:
  in        the client writes the request; the mediator reads it and admits it
  schedule  the scheduler's turn and the policy, until the executor is called
  handoff   until the executor starts the job (its worker thread; under isolation: process
            also the hop to the worker process)
  executor  the executor's own time (its wall time; on a GPU: launch, device, completion), and
            of it, separately: device, the time on the device as the executor measured it
  deliver   from the executor's end until the result is in the client's connection (under
            isolation: process also the hop back)
  out       until the client has read the result
Prints p50 and p99 of each part and of the whole, the mean of each part over the slowest 1% of
round trips, and the slowest ten round trips part by part.
"""
import argparse
import collections


def rows(path):
    with open(path) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                yield [int(x) for x in line.split()]


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))] if v else 0.0


PARTS = ["in", "schedule", "handoff", "executor", "deliver", "out"]
EXTRA = ["device"]  # inside a part above, not added to the total


def join(loadgen, mediator, vm):
    # Tags are reused, so each client row takes the first unused mediator row of its (vm, tag)
    # that was submitted after the client began sending it.
    pending = collections.defaultdict(collections.deque)
    for m in sorted(mediator, key=lambda m: m[2]):
        pending[(m[0], m[1])].append(m)
    joined = []
    for vm_id, tag, submitting, _submitted, received in sorted(loadgen, key=lambda r: r[2]):
        if vm is not None and vm_id != vm:
            continue
        queue = pending[(vm_id, tag)]
        while queue and queue[0][2] < submitting:
            queue.popleft()  # an earlier use of the tag the client did not report
        if not queue:
            continue
        _, _, submitted, dispatched, started, done, delivered, device = queue.popleft()
        parts = [submitted - submitting, dispatched - submitted, started - dispatched,
                 done - started, delivered - done, received - delivered, device]
        joined.append(([p / 1e3 for p in parts], (received - submitting) / 1e3, vm_id))
    return joined


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("loadgen")
    ap.add_argument("mediator")
    ap.add_argument("--vm", type=int)
    a = ap.parse_args()
    client = [r for r in rows(a.loadgen) if a.vm is None or r[0] == a.vm]
    joined = join(client, list(rows(a.mediator)), a.vm)
    if not joined:
        raise SystemExit("no job of the client's trace is in the mediator's")
    by_total = sorted(joined, key=lambda j: j[1])
    tail = by_total[-max(1, len(by_total) // 100):]
    print("%d round trips joined of the client's %d; us: p50 / p99 / mean of the slowest 1%%"
          % (len(joined), len(client)))
    print("%-9s %8.1f %8.1f %8.1f" % ("total", percentile([j[1] for j in joined], .5),
                                      percentile([j[1] for j in joined], .99),
                                      sum(j[1] for j in tail) / len(tail)))
    for i, name in enumerate(PARTS + EXTRA):
        values = [j[0][i] for j in joined]
        print("%-9s %8.1f %8.1f %8.1f" % (name, percentile(values, .5), percentile(values, .99),
                                          sum(j[0][i] for j in tail) / len(tail)))
    print("slowest ten: total = " + " + ".join(PARTS) + " (device)")
    for parts, total, vm_id in by_total[-10:]:
        print("  vm %d: %.1f = %s (%.1f)" % (vm_id, total,
                                           " + ".join("%.1f" % p for p in parts[:len(PARTS)]),
                                           parts[-1]))


if __name__ == "__main__":
    main()
