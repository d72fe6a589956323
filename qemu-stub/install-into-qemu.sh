#!/usr/bin/env bash
# Copies the vgpu-stub device into a QEMU source tree and registers it with Kconfig and the
# build: meson (QEMU 5.2 and later, e.g. Debian 12's 7.2) or Makefile.objs (before 5.2, e.g.
# XCP-ng's 4.2.1), and names it in the i386/x86_64 device list. Idempotent: running it again
# only refreshes the copied files.
#   qemu-stub/install-into-qemu.sh <qemu-source-dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=${1:?usage: install-into-qemu.sh <qemu-source-dir>}
misc=$src/hw/misc
[ -f "$misc/Kconfig" ] && { [ -f "$misc/meson.build" ] || [ -f "$misc/Makefile.objs" ]; } || {
  echo "install-into-qemu: $src does not look like a QEMU 4.x-7.x tree" \
    "(no hw/misc/Kconfig with meson.build or Makefile.objs)" >&2
  exit 1
}
# cmp first so an unchanged device does not make ninja rebuild it.
copy_if_changed() { cmp -s "$1" "$2" || cp "$1" "$2"; }
copy_if_changed "$here/vgpu_stub.c" "$misc/vgpu_stub.c"
# The header keeps its path (vgpu/stub_registers.h), so vgpu_stub.c includes it by the same name
# here and in the vgpu tree.
mkdir -p "$misc/vgpu"
copy_if_changed "$here/../guest/include/vgpu/stub_registers.h" "$misc/vgpu/stub_registers.h"

if [ -f "$misc/meson.build" ]; then
  grep -q CONFIG_VGPU_STUB "$misc/meson.build" ||
    printf "\n# vgpu: tells a guest its GPU pool, priority and vm_id\nsoftmmu_ss.add(when: 'CONFIG_VGPU_STUB', if_true: files('vgpu_stub.c'))\n" >>"$misc/meson.build"
else
  grep -q CONFIG_VGPU_STUB "$misc/Makefile.objs" ||
    printf "\n# vgpu: tells a guest its GPU pool, priority and vm_id\ncommon-obj-\$(CONFIG_VGPU_STUB) += vgpu_stub.o\n" >>"$misc/Makefile.objs"
fi
if ! grep -q 'config VGPU_STUB' "$misc/Kconfig"; then
  printf "\nconfig VGPU_STUB\n    bool\n    default y if PCI_DEVICES\n    depends on PCI\n" >>"$misc/Kconfig"
fi
# Builds configured --without-default-devices (XCP-ng's qemu.spec is) ignore Kconfig's
# `default y` and take only what the target's device list names: name the device there too.
for devices in "$src/configs/devices/i386-softmmu/default.mak" "$src/default-configs/i386-softmmu.mak"; do
  [ -f "$devices" ] || continue
  grep -q '^CONFIG_VGPU_STUB=' "$devices" ||
    printf "\n# vgpu: on even in builds --without-default-devices\nCONFIG_VGPU_STUB=y\n" >>"$devices"
done
echo "install-into-qemu: vgpu-stub is in $misc"
