#!/usr/bin/env python3
"""Renders the Grafana dashboard's panels to one PNG from a real Prometheus, with gnuplot.

Grafana is not packaged for Debian 12 (and this machine has no internet), so its image renderer
cannot run here. This script reads the same dashboard JSON, runs each panel's PromQL through
Prometheus' query_range API with the dashboard's variables set to "all", and draws the panels
where their gridPos puts them. The PNG therefore shows exactly the queries an operator imports.

Usage: render-dashboard.py --prometheus http://127.0.0.1:9090 --dashboard docs/grafana/vgpu-dashboard.json
                           --start UNIX --end UNIX --out docs/grafana/vgpu-dashboard.png
Exit status 1 when a query fails (a broken expression is a bug in the dashboard).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request


def promql(expr, step):
    """The dashboard's expression with Grafana's variables replaced as 'All' would."""
    expr = expr.replace("$__rate_interval", f"{max(4 * step, 15)}s")
    return re.sub(r"\$(instance|job)\b", ".*", expr)


def legend(fmt, labels):
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: labels.get(m.group(1), ""), fmt) or "value"


def query_range(base, expr, start, end, step):
    params = urllib.parse.urlencode({"query": expr, "start": start, "end": end, "step": step})
    with urllib.request.urlopen(f"{base}/api/v1/query_range?{params}", timeout=30) as r:
        reply = json.load(r)
    if reply.get("status") != "success":
        raise RuntimeError(f"{expr}: {reply}")
    return reply["data"]["result"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--start", type=float, required=True)
    ap.add_argument("--end", type=float, required=True)
    ap.add_argument("--step", type=int, default=5)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    dash = json.load(open(args.dashboard))
    panels = [p for p in dash["panels"] if p["type"] == "timeseries"]
    rows = [p for p in dash["panels"] if p["type"] == "row"]
    height = max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in dash["panels"])
    work = tempfile.mkdtemp(prefix="vgpu-dash-")
    unit_scale = {"bytes": (1 / 2**20, "MiB"), "s": (1000, "ms")}
    plots = []
    for n, panel in enumerate(panels):
        unit = panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "short")
        scale, unit_name = unit_scale.get(unit, (1, "" if unit == "short" else unit))
        series = []
        for target in panel["targets"]:
            for s in query_range(args.prometheus, promql(target["expr"], args.step), args.start,
                                 args.end, args.step):
                name = legend(target.get("legendFormat", ""), s["metric"])
                path = os.path.join(work, f"p{n}_{len(series)}.dat")
                with open(path, "w") as f:
                    for t, v in s["values"]:
                        if v not in ("NaN", "+Inf", "-Inf"):
                            f.write(f"{float(t) - args.start:.0f} {float(v) * scale}\n")
                series.append((path, name))
        plots.append((panel, series, unit_name))

    px_per_unit = 34
    width, total_h = 1800, (height + 1) * px_per_unit
    gp = [f"set terminal pngcairo size {width},{total_h} noenhanced font 'DejaVu Sans,9'",
          f"set output '{args.out}'", "set multiplot",
          "set key bottom left horizontal font ',8' maxrows 2", "set grid lc rgb '#dddddd'",
          "set xlabel 'seconds into the run' offset 0,0.5", "set format y '%g'"]
    gp.append(f"set label 1 \"{dash['title']}\" at screen 0.01, screen {1 - 0.4 / (height + 1)} font ',14'")
    for i, r in enumerate(rows):
        ypos = 1 - (r["gridPos"]["y"] + 1.5) / (height + 1)
        gp.append(f"set label {i + 2} \"{r['title']}\" at screen 0.01, screen {ypos:.4f} font ',12' tc rgb '#1f4e79'")
    for panel, series, unit_name in plots:
        g = panel["gridPos"]
        x0, w = g["x"] / 24, g["w"] / 24
        h = g["h"] / (height + 1)
        y0 = 1 - (g["y"] + g["h"] + 1) / (height + 1)
        gp.append(f"set origin {x0:.4f},{y0:.4f}")
        gp.append(f"set size {w:.4f},{h:.4f}")
        gp.append(f"set title \"{panel['title']}\"")
        gp.append(f"set ylabel \"{unit_name}\"")
        scale_type = panel["fieldConfig"]["defaults"].get("custom", {}).get("scaleDistribution", {})
        gp.append("set logscale y" if scale_type.get("type") == "log" else "unset logscale y")
        if series:
            gp.append("plot " + ", ".join(
                f"'{p}' using 1:2 with lines lw 1.5 title \"{name}\"" for p, name in series))
        else:
            gp.append("unset key")
            gp.append("plot [0:1][0:1] 2 notitle")
            gp.append("set key")
        gp.append("unset label")
    gp.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(gp) + "\n", text=True, check=True)
    print(f"{args.out}: {len(plots)} panels, "
          f"{sum(len(s) for _, s, _ in plots)} series from {args.prometheus}")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # a failing query or gnuplot: say which, exit 1
        print(f"render-dashboard: {e}", file=sys.stderr)
        sys.exit(1)
