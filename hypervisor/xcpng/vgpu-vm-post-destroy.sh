#!/usr/bin/env bash
# XCP-ng / XenServer hook, /etc/xapi.d/vm-post-destroy/: after a VM's domain is gone, removes
# the device and token vgpu-admin apply stored for it, so a token outlives no VM. xenopsd runs
# it as  <script> -vmuuid <uuid> -reason <reason>. A reboot (clean-reboot, hard-reboot) or a
# suspend starts the same VM again without its vm-pre-start hook, so those keep the files.
# Never fails: exit 0 (a hook exiting 2 or more would fail the operation).
set -u
uuid="" reason=""
while [ $# -gt 0 ]; do
  case $1 in
    -vmuuid) uuid=${2:-}; shift 2 ;;
    -reason) reason=${2:-}; shift 2 ;;
    *) shift ;;
  esac
done
state=${VGPU_XCPNG_STATE:-/var/lib/vgpu/xcpng}
case $uuid in '' | *[!0-9A-Za-z-]*) exit 0 ;; esac
case $reason in
  clean-shutdown | hard-shutdown)
    if [ -e "$state/$uuid.device" ] || [ -e "$state/$uuid.token" ]; then
      rm -f "$state/$uuid.device" "$state/$uuid.token"
      logger -t vgpu-vm-post-destroy "VM $uuid ($reason): its vgpu device and token removed" 2>/dev/null || true
    fi
    ;;
esac
exit 0
