#!/usr/bin/env bash
# install-into-qemu.sh on trees shaped like the two QEMUs vgpu-stub goes into: Debian 12's 7.2
# (meson, configs/devices/) and XCP-ng's 4.2.1 (Makefile.objs, default-configs/ listing its
# devices, because its qemu.spec configures --without-default-devices). Each tree must end up
# building the device and naming it in the device list, once, however often the script runs.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
install=$here/../install-into-qemu.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAILED: $*"
  exit 1
}
count() { grep -c -- "$1" "$2" || true; }

# QEMU 7.2's shape.
t72=$work/qemu-7.2
mkdir -p "$t72/hw/misc" "$t72/configs/devices/i386-softmmu" "$t72/configs/devices/x86_64-softmmu"
printf "config EDU\n    bool\n" >"$t72/hw/misc/Kconfig"
printf "softmmu_ss.add(when: 'CONFIG_EDU', if_true: files('edu.c'))\n" >"$t72/hw/misc/meson.build"
printf "# Default configuration for i386-softmmu\n#CONFIG_AMD_IOMMU=n\n" \
  >"$t72/configs/devices/i386-softmmu/default.mak"
printf "include ../i386-softmmu/default.mak\n" >"$t72/configs/devices/x86_64-softmmu/default.mak"

# XCP-ng's 4.2.1 after its build-configuration.patch: boards and wanted devices listed.
t42=$work/qemu-4.2.1
mkdir -p "$t42/hw/misc" "$t42/default-configs"
printf "config EDU\n    bool\n" >"$t42/hw/misc/Kconfig"
printf 'common-obj-$(CONFIG_EDU) += edu.o\n' >"$t42/hw/misc/Makefile.objs"
printf "CONFIG_I440FX=y\nCONFIG_Q35=n\n\n# Wanted devices:\nCONFIG_E1000_PCI=y\nCONFIG_VGA_PCI=y\n" \
  >"$t42/default-configs/i386-softmmu.mak"
printf "include i386-softmmu.mak\n" >"$t42/default-configs/x86_64-softmmu.mak"

for run in 1 2; do
  bash "$install" "$t72" >/dev/null || fail "install into the 7.2 tree (run $run)"
  bash "$install" "$t42" >/dev/null || fail "install into the 4.2.1 tree (run $run)"
done
for t in "$t72" "$t42"; do
  cmp -s "$here/../vgpu_stub.c" "$t/hw/misc/vgpu_stub.c" || fail "$t: vgpu_stub.c not copied"
  [ -f "$t/hw/misc/vgpu/stub_registers.h" ] || fail "$t: the register header not copied"
  [ "$(count 'config VGPU_STUB' "$t/hw/misc/Kconfig")" = 1 ] || fail "$t: Kconfig entry not once"
done
[ "$(count "CONFIG_VGPU_STUB', if_true: files('vgpu_stub.c')" "$t72/hw/misc/meson.build")" = 1 ] ||
  fail "7.2: meson.build does not build the device once"
[ "$(count '^CONFIG_VGPU_STUB=y$' "$t72/configs/devices/i386-softmmu/default.mak")" = 1 ] ||
  fail "7.2: the device list does not name the device once"
[ "$(count 'common-obj-$(CONFIG_VGPU_STUB) += vgpu_stub.o' "$t42/hw/misc/Makefile.objs")" = 1 ] ||
  fail "4.2.1: Makefile.objs does not build the device once"
[ "$(count '^CONFIG_VGPU_STUB=y$' "$t42/default-configs/i386-softmmu.mak")" = 1 ] ||
  fail "4.2.1: default-configs/i386-softmmu.mak does not name the device once (XCP-ng builds" \
    "--without-default-devices, so Kconfig's default alone leaves it out)"
grep -q "CONFIG_E1000_PCI=y" "$t42/default-configs/i386-softmmu.mak" || fail "4.2.1: the list lost a device"

# Not a QEMU tree: refused, saying what was expected.
mkdir -p "$work/other"
out=$(bash "$install" "$work/other" 2>&1) && fail "a folder that is not QEMU was accepted"
grep -q "does not look like a QEMU 4.x-7.x tree" <<<"$out" || fail "unclear refusal: $out"
echo "PASSED"
