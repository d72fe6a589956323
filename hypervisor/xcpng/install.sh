#!/usr/bin/env bash
# Installs vgpu's XCP-ng integration in dom0 (as root), the supported way: nothing that belongs
# to a package is replaced or edited.
#   /usr/lib/vgpu/xcpng/vgpu-qemu-wrapper           the device-model wrapper (ours)
#   /etc/xenopsd.conf.d/vgpu.conf                   points xenopsd's upstream-compat-qemu-dm-wrapper at it
#   /etc/xapi.d/vm-pre-start/10vgpu-stub            stores the VM's device and a fresh token
#   /etc/xapi.d/vm-post-destroy/10vgpu-stub         removes them when the VM shuts down
#   /etc/xapi.d/vm-pre-migrate/10vgpu-stub          refuses to migrate a VM with the device
#   /var/lib/vgpu/xcpng/                            root-only (0700): the devices and tokens
# Then: systemctl restart xenopsd-xc (running VMs keep their QEMU; the wrapper applies from
# each VM's next start). Undo: install.sh --uninstall, and restart xenopsd-xc again.
#   install.sh [--uninstall] [--root DIR]     DIR: install under another root (tests)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=/ uninstall=false
while [ $# -gt 0 ]; do
  case $1 in
    --uninstall) uninstall=true; shift ;;
    --root) root=${2:?--root needs a folder}; shift 2 ;;
    *) echo "install.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
root=${root%/}
wrapper=$root/usr/lib/vgpu/xcpng/vgpu-qemu-wrapper
dropin=$root/etc/xenopsd.conf.d/vgpu.conf
hook() { echo "$root/etc/xapi.d/$1/10vgpu-stub"; }
if $uninstall; then
  rm -f "$wrapper" "$dropin" "$(hook vm-pre-start)" "$(hook vm-post-destroy)" "$(hook vm-pre-migrate)"
  rmdir "$root/usr/lib/vgpu/xcpng" "$root/usr/lib/vgpu" 2>/dev/null || true
  echo "vgpu's XCP-ng integration removed (stored devices in $root/var/lib/vgpu/xcpng kept);" \
       "restart xenopsd-xc"
  exit 0
fi
if [ "$root" = "" ] && [ ! -x /usr/lib64/xen/bin/qemu-wrapper ]; then
  echo "install.sh: no stock wrapper /usr/lib64/xen/bin/qemu-wrapper: is this XCP-ng dom0?" >&2
  exit 1
fi
install -D -m 755 "$here/vgpu-qemu-wrapper" "$wrapper"
install -D -m 644 "$here/xenopsd.conf.d/vgpu.conf" "$dropin"
install -D -m 755 "$here/vgpu-vm-startup.sh" "$(hook vm-pre-start)"
install -D -m 755 "$here/vgpu-vm-post-destroy.sh" "$(hook vm-post-destroy)"
install -D -m 755 "$here/vgpu-vm-pre-migrate.sh" "$(hook vm-pre-migrate)"
install -d -m 700 "$root/var/lib/vgpu/xcpng"
echo "vgpu's XCP-ng integration installed; restart xenopsd-xc (systemctl restart xenopsd-xc)"
