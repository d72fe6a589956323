#!/usr/bin/env bash
# What a researcher does with examples/edf_policy: install the SDK, build the policy out of
# tree with find_package(vgpu), run the policy test kit on it, then load it in vgpu-sim and in
# the real mediator. Usage: sdk_install_test.sh <build-dir> <source-dir>
set -euo pipefail
build=$(realpath "$1") src=$(realpath "$2")
work=$(mktemp -d /tmp/vgpu-sdk-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/vgpu/sdk/plugin.hpp"
test -f "$work/prefix/include/vgpu/testkit/policy_kit.hpp"
test -f "$work/prefix/lib/cmake/vgpu/vgpuConfig.cmake"

cp -r "$src/examples/edf_policy" "$work/edf_policy"   # a copy: nothing of the tree is used
cmake -S "$work/edf_policy" -B "$work/edf_build" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/edf_build" >/dev/null
test -f "$work/edf_build/libvgpu-policy-edf.so"
(cd "$work/edf_build" && ctest --output-on-failure) | tail -3

sim=$("$build/bin/vgpu-sim" "$work/edf_policy/deadlines.yaml" -p round_robin -p edf \
      --plugin-dir "$work/edf_build" --json)
python3 - "$sim" <<'PY'
import json, sys
runs = {r["policy"]: r for r in json.loads(sys.argv[1])}
missed = {p: sum(v["missed_deadlines"] for v in r["vms"] if v["name"].startswith("interactive"))
          for p, r in runs.items()}
print("interactive deadline misses:", missed)
assert missed["edf"] * 10 < missed["round_robin"], "edf should miss far fewer tight deadlines"
PY

cat > "$work/mediator.yaml" <<YAML
plugin_dirs: [$work/edf_build]
transports: [{plugin: tcp, port: 0}]
policy: {plugin: edf}
executors: [{plugin: cpu, workers: 1}]
YAML
out=$("$build/bin/vgpu-mediator" --check-config --config "$work/mediator.yaml" 2>&1)
echo "$out"
grep -q "configuration OK.*policy edf" <<<"$out"
echo "out-of-tree policy: built against the installed SDK, passed the kit, ran in vgpu-sim and loads in the mediator"
