#!/usr/bin/env bash
# XCP-ng / XenServer hook, /etc/xapi.d/vm-pre-migrate/: refuses to migrate a VM that has a vgpu
# device. Its identity, token and shared memory belong to this host's mediator and config DB,
# and its jobs run on this host's GPU (docs/hypervisors.md, "Migration"). xenopsd runs it as
# <script> -vmuuid <uuid> -reason source; an exit code of 2 or more aborts the operation with
# XAPI_HOOK_FAILED, whose parameters carry what this prints. Other VMs migrate as before.
set -u
uuid=""
while [ $# -gt 0 ]; do
  case $1 in
    -vmuuid) uuid=${2:-}; shift 2 ;;
    *) shift ;;
  esac
done
state=${VGPU_XCPNG_STATE:-/var/lib/vgpu/xcpng}
case $uuid in '' | *[!0-9A-Za-z-]*) exit 0 ;; esac
if [ -e "$state/$uuid.device" ]; then
  echo "vgpu: VM $uuid cannot migrate: its vgpu-stub identity, token and shared memory belong" \
       "to this host's vgpu mediator and its GPU jobs run on this host; shut it down and start" \
       "it on the other host (its vm-pre-start hook then gives it a device there)"
  logger -t vgpu-vm-pre-migrate "VM $uuid: migration refused (vgpu device)" 2>/dev/null || true
  exit 2
fi
exit 0
