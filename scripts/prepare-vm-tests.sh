#!/usr/bin/env bash
# Makes what the VM tests (CTest labels qemu and vm) need, in <build-dir>/vm:
#   qemu-system-x86_64   QEMU 7.2 with vgpu-stub (qemu-stub/build-qemu.sh; cached, ~7 min once)
#   vmlinuz, initramfs.gz  the test guest (qemu-stub/make-guest-image.sh)
# The build folder must already hold bin/vgpu-client-static.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: prepare-vm-tests.sh <build-dir>}
mkdir -p "$build/vm"
qemu=$(bash qemu-stub/build-qemu.sh | tail -n1)
ln -sfn "$qemu" "$build/vm/qemu-system-x86_64"
strip -o "$build/vm/vgpu-client" "$build/bin/vgpu-client-static"
bash qemu-stub/make-guest-image.sh "$build/vm" "$build/vm/vgpu-client"
