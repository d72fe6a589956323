#!/usr/bin/env bash
# lintian over the given .deb files. Passes when every tag it reports is listed, with its
# reason, in packaging/lintian-explained.txt; prints and fails on any other.
set -euo pipefail
cd "$(dirname "$0")/.."
explained=packaging/lintian-explained.txt
report=$(lintian --no-tag-display-limit --display-info "$@" 2>&1 || true)
unexplained=0
while IFS= read -r line; do
  [ -n "$line" ] || continue
  # "W: vgpu-admin: no-manual-page [usr/bin/vgpu-admin]": the package, then the tag.
  case $line in [EWIPXO]:\ *) ;; *) continue ;; esac
  read -r _ package tag _ <<<"$line"
  package=${package%:}
  if grep -qE "^(${package}|\\*) ${tag}( |$)" "$explained"; then
    echo "explained: $line"
  else
    echo "UNEXPLAINED: $line"
    unexplained=$((unexplained + 1))
  fi
done <<<"$report"
if [ "$unexplained" -gt 0 ]; then
  echo "lintian: $unexplained tag(s) neither fixed nor explained in $explained"
  exit 1
fi
echo "lintian: clean, or every tag explained in $explained"
