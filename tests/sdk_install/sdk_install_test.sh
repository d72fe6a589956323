#!/usr/bin/env bash
# Installs the SDK into a scratch prefix, builds a policy out of tree with find_package(vgpu),
# and has the real mediator load it. Usage: sdk_install_test.sh <build-dir> <source-dir>
set -euo pipefail
build=$1 src=$2
work=$(mktemp -d /tmp/vgpu-sdk-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/vgpu/sdk/plugin.hpp"
test -f "$work/prefix/lib/cmake/vgpu/vgpuConfig.cmake"

cmake -S "$src/tests/sdk_install/lifo_policy" -B "$work/build" -G Ninja \
      -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
test -f "$work/build/libvgpu-policy-lifo.so"

cat > "$work/mediator.yaml" <<YAML
plugin_dirs: [$work/build]
transports: [{plugin: tcp, port: 0}]
policy: {plugin: lifo}
executors: [{plugin: cpu, workers: 1}]
YAML
out=$("$build/bin/vgpu-mediator" --check-config --config "$work/mediator.yaml" 2>&1)
echo "$out"
grep -q "configuration OK.*policy lifo" <<<"$out"
echo "out-of-tree policy built against the installed SDK and loaded"
