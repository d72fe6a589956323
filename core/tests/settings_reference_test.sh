#!/usr/bin/env bash
# docs/plugin-settings.md must say exactly what the built plugins declare: every section that
# `vgpu-mediator --describe-plugins` prints for the plugins built here appears in it verbatim.
# (A build without CUDA has no cuda executor; its section in the doc is then not checked.)
# To refresh the doc: build/bin/vgpu-mediator --describe-plugins --plugin-dir build/plugins \
#   > docs/plugin-settings.md
set -euo pipefail
build=$1 src=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$build/bin/vgpu-mediator" --describe-plugins --plugin-dir "$build/plugins" >"$out"
python3 - "$out" "$src/docs/plugin-settings.md" <<'PY'
import sys
generated = open(sys.argv[1]).read()
doc = open(sys.argv[2]).read()
sections = generated.split("\n## ")
missing = [s.splitlines()[0] for s in sections[1:] if ("\n## " + s) not in doc + "\n"]
if not generated.startswith(sections[0]) or sections[0] not in doc:
    missing.append("(the introduction)")
for m in missing:
    print("docs/plugin-settings.md is out of date for: " + m)
if missing:
    print("regenerate it: build/bin/vgpu-mediator --describe-plugins --plugin-dir build/plugins"
          " > docs/plugin-settings.md")
    sys.exit(1)
print("docs/plugin-settings.md matches %d plugins" % (len(sections) - 1))
PY
