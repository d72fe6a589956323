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

# KVM for the guests only where it really boots this guest: /dev/kvm can be there and still hang
# in a nested hypervisor (seen on this project's own machines). A KVM guest is at its prompt in
# about a second; 30 s without it means TCG. The tests read the answer from vm/accel.
accel=tcg
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
  if timeout 30 "$build/vm/qemu-system-x86_64" -machine pc -m 256 -smp 1 -nodefaults \
       -no-user-config -display none -no-reboot -serial stdio -accel kvm \
       -L /usr/share/qemu -L /usr/share/seabios -kernel "$build/vm/vmlinuz" \
       -initrd "$build/vm/initramfs.gz" -append "console=ttyS0 quiet panic=-1" 2>/dev/null |
     grep -q VGPU-GUEST-READY; then
    accel=kvm
  else
    echo "prepare-vm-tests: /dev/kvm is there but did not boot the test guest in 30 s; the VM" \
         "tests use TCG" >&2
  fi
fi
echo "$accel" >"$build/vm/accel"
