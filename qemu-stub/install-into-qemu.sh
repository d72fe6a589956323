#!/usr/bin/env bash
# Copies the vgpu-stub device into a QEMU 7.2 source tree and registers it with meson and
# Kconfig. Idempotent: running it again only refreshes the copied files.
#   qemu-stub/install-into-qemu.sh <qemu-source-dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: install-into-qemu.sh <qemu-source-dir>}
misc=$src/hw/misc
[ -f "$misc/meson.build" ] && [ -f "$misc/Kconfig" ] || {
  echo "install-into-qemu: $src does not look like a QEMU 7.x tree (no hw/misc/meson.build)" >&2
  exit 1
}
# cmp first so an unchanged device does not make ninja rebuild it.
copy_if_changed() { cmp -s "$1" "$2" || cp "$1" "$2"; }
copy_if_changed "$here/vgpu_stub.c" "$misc/vgpu_stub.c"
copy_if_changed "$here/../guest/include/vgpu/stub_registers.h" "$misc/vgpu_stub_registers.h"

if ! grep -q CONFIG_VGPU_STUB "$misc/meson.build"; then
  printf "\n# vgpu: tells a guest its GPU pool, priority and vm_id\nsoftmmu_ss.add(when: 'CONFIG_VGPU_STUB', if_true: files('vgpu_stub.c'))\n" >>"$misc/meson.build"
fi
if ! grep -q 'config VGPU_STUB' "$misc/Kconfig"; then
  printf "\nconfig VGPU_STUB\n    bool\n    default y if PCI_DEVICES\n    depends on PCI\n" >>"$misc/Kconfig"
fi
echo "install-into-qemu: vgpu-stub is in $misc"
