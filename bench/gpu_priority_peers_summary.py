#!/usr/bin/env python3
"""Summarises gpu_priority_peers.sh's rows: medians over rounds with their spread, each scheme's
p99 and delivered work against the MPS-with-client-priorities row of the same shape, and the
issue's goals (mediated p99 <= mps-prio p99; low VMs' work >= 0.95 of MPS's; mediated probe with
nothing competing <= 1.2x the probe alone).

Usage: gpu_priority_peers_summary.py RESULTS.tsv HIGH LOW
"""
import statistics
import sys
from collections import defaultdict


def number(text):
    return None if text == "-" else float(text)


def main():
    path, high, low = sys.argv[1], sys.argv[2], sys.argv[3]
    rows = defaultdict(lambda: {"p50": [], "p99": [], "work": []})
    for line in open(path):
        round_, shape, scheme, p50, p99, work = line.rstrip("\n").split("\t")
        r = rows[(shape, scheme)]
        r["p50"].append(float(p50))
        r["p99"].append(float(p99))
        if number(work) is not None:
            r["work"].append(float(work))

    def med(values):
        return statistics.median(values) if values else None

    print(f"{high} high + {low} low VMs")
    print(f"{'shape':6} {'scheme':19} {'p50 us':>8} {'p99 us':>8} {'p99 min..max':>15} "
          f"{'delivered/s':>12} {'p99 vs mps-prio':>16} {'work vs mps-prio':>17}")
    shapes, mediated = [], []  # in the order they came; mediated: each mediator variant's name
    for shape, scheme in rows:
        if shape not in shapes:
            shapes.append(shape)
        if scheme.startswith("mediator") and not scheme.endswith("-alone") and \
                scheme not in mediated:
            mediated.append(scheme)
    order = (["alone"] + [m + "-alone" for m in mediated] +
             ["one-process", "mps-prio", "mps-prio-stream"] + mediated)
    goals = []
    for shape in shapes:
        anchor = rows.get((shape, "mps-prio"))
        for scheme in order:
            r = rows.get((shape, scheme))
            if not r:
                continue
            p99 = med(r["p99"])
            work = med(r["work"])
            vs_p99 = vs_work = ""
            if anchor and shape != "-":
                vs_p99 = f"{p99 / med(anchor['p99']):.2f}"
                if work is not None and med(anchor["work"]):
                    vs_work = f"{work / med(anchor['work']):.3f}"
            spread = f"{min(r['p99']):.0f}..{max(r['p99']):.0f}"
            work_text = f"{work:.4g}" if work is not None else "-"
            print(f"{shape:6} {scheme:19} {med(r['p50']):8.0f} {p99:8.0f} {spread:>15} "
                  f"{work_text:>12} {vs_p99:>16} {vs_work:>17}")
            if scheme in mediated and anchor:
                goals.append((f"{shape}: {scheme} p99 <= mps-prio p99", p99 <= med(anchor["p99"])))
                if work is not None:
                    goals.append((f"{shape}: {scheme}, low VMs' work >= 0.95 x mps-prio",
                                  work >= 0.95 * med(anchor["work"])))
    alone = rows.get(("-", "alone"))
    for scheme in mediated:
        quiet = rows.get(("-", scheme + "-alone"))
        if alone and quiet:
            ratio = med(quiet["p99"]) / med(alone["p99"])
            goals.append((f"nothing competing: {scheme} p99 {ratio:.2f}x alone <= 1.2x",
                          ratio <= 1.2))
    print()
    for text, ok in goals:
        print(f"  {'met    ' if ok else 'NOT met'}  {text}")


if __name__ == "__main__":
    main()
