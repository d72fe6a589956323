#!/bin/sh
# Installs (or with --uninstall removes) the vgpu libvirt hook on a KVM host, as root:
#   /etc/libvirt/hooks/qemu.d/vgpu   the hook (hypervisor/libvirt/vgpu-hook)
#   /etc/vgpu/libvirt-hook.conf      its settings, kept if present
# --root DIR installs under DIR instead of / (for packaging and tests). libvirtd looks for hooks
# when it starts: restart it afterwards (systemctl restart libvirtd, or virtqemud).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root="" uninstall=no
while [ $# -gt 0 ]; do
  case $1 in
    --root) root=$2; shift 2 ;;
    --uninstall) uninstall=yes; shift ;;
    *) echo "usage: install.sh [--root DIR] [--uninstall]" >&2; exit 2 ;;
  esac
done
hook=$root/etc/libvirt/hooks/qemu.d/vgpu conf=$root/etc/vgpu/libvirt-hook.conf
if [ $uninstall = yes ]; then
  rm -f "$hook"
  echo "removed $hook (kept $conf and the tokens in /var/lib/vgpu/libvirt); restart libvirtd"
  exit 0
fi
install -d -m 0755 "$(dirname "$hook")" "$(dirname "$conf")"
install -m 0755 "$here/vgpu-hook" "$hook"
[ -e "$conf" ] || cat >"$conf" <<CONF
STATE=/var/lib/vgpu/libvirt
RUN=/run/vgpu/libvirt
DB=/var/lib/vgpu/vgpu.db
ADMIN=/usr/bin/vgpu-admin
CONF
echo "installed $hook and $conf; restart libvirtd so that it finds the hook"
