#!/usr/bin/env bash
# XCP-ng / XenServer VM-start hook: before a VM starts, store its vgpu-stub device (pool,
# priority, vm_id) and a fresh token from the config DB in dom0's root-only folder
# /var/lib/vgpu/xcpng, where the vgpu device-model wrapper (vgpu-qemu-wrapper) reads them when
# xenopsd starts the VM's QEMU. Nothing goes to XAPI: other-config is readable by every XAPI
# user who can see the VM, and a call to xe here would wait on the pool master.
#
# Installed by hypervisor/xcpng/install.sh as /etc/xapi.d/vm-pre-start/10vgpu-stub. xenopsd
# runs every executable in /etc/xapi.d/vm-pre-start/ as
#   <script> -reason <reason> -vmuuid <uuid>
# A VM that is not registered starts untouched; a failure is logged, never blocks the start.
set -u
uuid="" reason=""
while [ $# -gt 0 ]; do
  case $1 in
    -vmuuid) uuid=$2; shift 2 ;;
    -reason) reason=$2; shift 2 ;;
    *) shift ;;
  esac
done
[ -n "$uuid" ] || { echo "vgpu-vm-startup: no -vmuuid given" >&2; exit 0; }
admin=${VGPU_ADMIN:-vgpu-admin}
db=${VGPU_DB:-/var/lib/vgpu/vgpu.db}
apply() { "$admin" --db "$db" --hypervisor xcpng apply "$@" --rotate-token --yes 2>&1; }
out=$(apply "$uuid")
rc=$?
# A VM CloudStack registered (vgpu-admin cloudstack) is in the DB under CloudStack's id and its
# instance name; XAPI gives it a new UUID at every start, with the instance name as name-label.
# Only on a host that syncs from CloudStack: elsewhere an unregistered VM costs no XAPI call.
cloudstack=${VGPU_CLOUDSTACK_CONFIG:-/etc/vgpu/cloudstack.yaml}
if [ $rc -eq 1 ] && [ -e "$cloudstack" ] &&
  case $out in *"no VM with"*) true ;; *) false ;; esac; then
  name=$(timeout 10 xe vm-param-get uuid="$uuid" param-name=name-label 2>/dev/null) || name=""
  if [ -n "$name" ]; then
    out=$(apply "$name" --hypervisor-uuid "$uuid")
    rc=$?
  fi
fi
case $rc in
  0) logger -t vgpu-vm-startup "VM $uuid ($reason): $out" 2>/dev/null || true ;;
  1) case $out in *"no VM with"*) exit 0 ;; esac
     logger -t vgpu-vm-startup "VM $uuid: refused: $out" 2>/dev/null || true ;;
  *) logger -t vgpu-vm-startup "VM $uuid: vgpu-admin failed ($rc): $out" 2>/dev/null || true ;;
esac
echo "$out"
exit 0
