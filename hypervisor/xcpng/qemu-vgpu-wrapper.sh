#!/usr/bin/env bash
# XCP-ng dom0: stands in front of the device model so that a VM registered with vgpu gets its
# vgpu-stub device. xenopsd's qemu-wrapper starts QEMU with `-xen-domid <domid>`; this script
# maps the domid to the VM (XenStore /local/domain/<domid>/vm = /vm/<uuid>), reads the VM's
# other-config:vgpu-stub-args (written by the VM-start hook, vgpu-vm-startup.sh) and execs the
# real QEMU with `-device <args>` appended. Anything missing or failing starts the VM unchanged
# (logged): a vgpu problem must never keep a VM from booting.
#
# Install (as root; see qemu-stub/README.md, "Carrying it to XCP-ng"):
#   mv /usr/lib64/xen/bin/qemu-system-i386 /usr/lib64/xen/bin/qemu-system-i386.real
#   install -m 755 qemu-vgpu-wrapper.sh /usr/lib64/xen/bin/qemu-system-i386
set -u
real=${VGPU_REAL_QEMU:-$0.real}
# To stderr, where the device model's own messages go (XCP-ng keeps them in its daemon log).
log() { echo "vgpu-qemu-wrapper: $*" >&2; }

domid=""
prev=""
for arg in "$@"; do
  [ "$prev" = "-xen-domid" ] && domid=$arg
  prev=$arg
done

extra=()
if [ -n "$domid" ]; then
  vm_path=$(xenstore-read "/local/domain/$domid/vm" 2>/dev/null) || vm_path=""
  uuid=${vm_path#/vm/}
  if [ -n "$uuid" ]; then
    # xe answers quickly during VM.start (it reads xapi's database); bound it anyway.
    if args=$(timeout 10 xe vm-param-get uuid="$uuid" param-name=other-config \
      param-key=vgpu-stub-args 2>/dev/null) && [ -n "$args" ]; then
      case $args in
        vgpu-stub,*) extra=(-device "$args") ;;
        *) log "VM $uuid: other-config:vgpu-stub-args is not a vgpu-stub device ('$args'); ignored" ;;
      esac
    fi
  else
    log "domain $domid: no VM path in XenStore; starting without vgpu-stub"
  fi
fi
[ ${#extra[@]} -gt 0 ] && log "domain $domid (VM $uuid): adding -device ${args%%,token=*},token=..."
exec "$real" "$@" "${extra[@]}"
