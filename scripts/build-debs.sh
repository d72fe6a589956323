#!/usr/bin/env bash
# Builds the Debian packages in one command: installs what the build needs, builds, packages
# with CPack into <build_dir>/debs/ and runs lintian over them (every remaining tag is explained
# in packaging/lintian-explained.txt). docs/packaging.md says what each package holds.
# Usage: scripts/build-debs.sh [build_dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-${VGPU_BUILD_DIR:-build}}
bash scripts/setup.sh
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir"
out=$(realpath "$build_dir")/debs
rm -rf "$out"
(cd "$build_dir" && cpack -G DEB -B "$out" >/dev/null)
rm -rf "$out/_CPack_Packages"
echo "== packages in $out"
ls -1 "$out"/*.deb
echo "== lintian"
bash scripts/lint-debs.sh "$out"/*.deb
