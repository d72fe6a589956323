#!/usr/bin/env bash
# vgpu-sim --plot writes one PNG per policy.
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d /tmp/vgpu-plot.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$build/bin/vgpu-sim" "$src/workloads/flood.yaml" -p strict_priority -p round_robin \
  --plot "$work/flood.png" >/dev/null
for p in strict_priority round_robin; do
  f="$work/flood-$p.png"
  test -s "$f" || { echo "no $f"; exit 1; }
  head -c 8 "$f" | od -An -tx1 | grep -q "89 50 4e 47" || { echo "$f is not a PNG"; exit 1; }
done
echo "plots written"
