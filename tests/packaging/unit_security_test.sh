#!/usr/bin/env bash
# The packaged unit stays hardened: systemd-analyze's exposure score of
# packaging/systemd/vgpu-mediator.service must be 2.0 or lower (1.8 when written; the unit
# before hardening scored 9.6). Exit 77 (skipped) where systemd-analyze cannot score offline.
# Usage: unit_security_test.sh <source_dir>
set -euo pipefail
unit=$1/packaging/systemd/vgpu-mediator.service
command -v systemd-analyze >/dev/null || { echo "SKIPPED: no systemd-analyze"; exit 77; }
report=$(systemd-analyze security --offline=yes "$unit" 2>&1) ||
  { echo "$report" | tail -3; echo "SKIPPED: systemd-analyze cannot score offline here"; exit 77; }
echo "$report" | tail -1
# --threshold is on a 0..100 scale: 20 is an exposure of 2.0.
if ! systemd-analyze security --offline=yes --threshold=20 "$unit" >/dev/null 2>&1; then
  echo "FAIL: the unit's exposure is above 2.0; what is open:"
  echo "$report" | grep "✗"
  exit 1
fi
echo "PASS"
