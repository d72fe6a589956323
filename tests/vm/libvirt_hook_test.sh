#!/usr/bin/env bash
# The libvirt hook by itself, called as libvirt calls it (`vgpu <name> <op> <subop> -`, the domain
# XML on stdin), and its installer: the token handed over at prepare/begin readable by QEMU's
# user only, a placeholder for a domain the DB does not know, the copy removed at release/end,
# other operations ignored; for a domain CloudStack generated, the QEMU config it reads (-readconfig)
# written from the DB; and install.sh --root / --uninstall.
# Usage: libvirt_hook_test.sh BUILD_DIR SOURCE_DIR (any user; no libvirtd needed)
set -euo pipefail
build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAILED: $*"
  exit 1
}
hook=$src/hypervisor/libvirt/vgpu-hook
admin=("$build/bin/vgpu-admin" --db "$work/vgpu.db")
"${admin[@]}" register-vm --vm-uuid 11111111-2222-3333-4444-555555555555 --name known \
  --pool A --priority high >/dev/null
mkdir -p "$work/state"
printf 'abcdef0123456789abcdef0123456789' >"$work/state/11111111-2222-3333-4444-555555555555.token"
printf 'ffffffff000000000000000000000000' >"$work/state/99999999-2222-3333-4444-555555555555.token"
cat >"$work/hook.conf" <<CONF
STATE=$work/state
RUN=$work/run
DB=$work/vgpu.db
ADMIN=$build/bin/vgpu-admin
QEMU_USER=$(id -un)
CONF
export VGPU_LIBVIRT_HOOK_CONF=$work/hook.conf
xml() { printf "<domain type='kvm'>\n  <name>%s</name>\n  <uuid>%s</uuid>\n</domain>\n" "$1" "$2"; }
known=11111111-2222-3333-4444-555555555555 gone=99999999-2222-3333-4444-555555555555

xml known $known | "$hook" known prepare begin - || fail "the hook failed at prepare"
[ "$(cat "$work/run/$known.token")" = abcdef0123456789abcdef0123456789 ] ||
  fail "prepare did not hand over the stored token"
[ "$(stat -c %a "$work/run/$known.token")" = 400 ] || fail "the runtime token is not 0400"
[ "$(stat -c %U "$work/run/$known.token")" = "$(id -un)" ] || fail "the token is not QEMU's user's"
[ "$(stat -c %a "$work/run")" = 711 ] || fail "the runtime folder is not 0711"

xml gone $gone | "$hook" gone prepare begin - || fail "the hook failed for an unknown domain"
[ "$(cat "$work/run/$gone.token")" = not-registered ] ||
  fail "a domain the DB does not know got its old token"
xml never 88888888-2222-3333-4444-555555555555 | "$hook" never prepare begin - ||
  fail "the hook failed for a domain without a token"
[ "$(cat "$work/run/88888888-2222-3333-4444-555555555555.token")" = not-registered ] ||
  fail "a domain never given a token did not get the placeholder"

xml known $known | "$hook" known stopped end - || fail "the hook failed on another operation"
[ -e "$work/run/$known.token" ] || fail "an operation other than started or release removed the token"
xml known $known | "$hook" known started begin - || fail "the hook failed at started"
[ -e "$work/run/$known.token" ] && fail "the token outlived QEMU's start (started/begin)"
xml known $known | "$hook" known release end - || fail "the hook failed at release"
[ -e "$work/run/$known.token" ] && fail "release/end left the runtime token"
printf '<domain><uuid>../../etc</uuid></domain>' | "$hook" evil prepare begin - ||
  fail "the hook failed on a bad UUID instead of ignoring it"
[ -e "$work/run/../../etc.token" ] && fail "a UUID with a path in it named a file"

# A domain CloudStack generated: its extraconfig asks QEMU to read <run>/<uuid>.cfg, which the
# hook writes from this host's DB (found by UUID, else by the instance name) with a fresh token.
cs_xml() {  # name uuid machine
  printf "<domain type='kvm'>\n  <name>%s</name>\n  <uuid>%s</uuid>\n  <os><type arch='x86_64' machine='%s'>hvm</type></os>\n" "$1" "$2" "$3"
  printf "  <qemu:commandline xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
  printf "    <qemu:arg value='-readconfig'/>\n    <qemu:arg value='%s'/>\n  </qemu:commandline>\n</domain>\n" "$work/run/$2.cfg"
}
cs=aaaaaaaa-2222-3333-4444-555555555555
"${admin[@]}" create-pool batch >/dev/null
"${admin[@]}" register-vm --vm-uuid "$cs" --name i-2-10-VM --pool batch --priority low >/dev/null
cs_id=$("${admin[@]}" show-vm "$cs" --json | python3 -c "import json,sys; print(json.load(sys.stdin)['vm_id'])")
cs_xml i-2-10-VM "$cs" pc-i440fx-7.2 | "$hook" i-2-10-VM prepare begin - || fail "prepare (CloudStack)"
cfg=$(cat "$work/run/$cs.cfg")
for line in '[device "vgpu-stub"]' 'driver = "vgpu-stub"' 'pool_id = "batch"' 'priority = "low"' \
  "vm_id = \"$cs_id\"" 'bus = "pci.0"' 'addr = "0x1e"' "token-file = \"$work/run/$cs.token\""; do
  grep -qF "$line" <<<"$cfg" || fail "the QEMU config lacks $line: $cfg"
done
first=$(cat "$work/run/$cs.token")
[[ $first =~ ^[0-9a-f]{32}$ ]] || fail "no fresh token for the CloudStack domain: $first"
[ "$(stat -c %a "$work/run/$cs.cfg")" = 400 ] || fail "the QEMU config is not 0400"
grep -q "$first" <<<"$cfg" && fail "the token is in the QEMU config"
cs_xml i-2-10-VM "$cs" pc-q35-7.2 | "$hook" i-2-10-VM prepare begin - || fail "prepare (q35)"
grep -qF 'bus = "pcie.0"' "$work/run/$cs.cfg" || fail "a q35 domain's device is not on pcie.0"
[ "$(cat "$work/run/$cs.token")" != "$first" ] || fail "a second start kept the old token"
# Known only by its instance name (the DB's UUID is another): found all the same.
other=bbbbbbbb-2222-3333-4444-555555555555
cs_xml i-2-10-VM "$other" pc | "$hook" i-2-10-VM prepare begin - || fail "prepare (by name)"
grep -qF "vm_id = \"$cs_id\"" "$work/run/$other.cfg" || fail "the VM was not found by its name"
# Not in this host's DB: a config without the device, so the domain boots without it.
lost=cccccccc-2222-3333-4444-555555555555
cs_xml i-9-99-VM "$lost" pc | "$hook" i-9-99-VM prepare begin - || fail "prepare (unknown)"
[ -e "$work/run/$lost.cfg" ] || fail "no QEMU config for an unknown CloudStack domain: QEMU would not start"
grep -q "^\[device" "$work/run/$lost.cfg" && fail "an unknown domain got a device"
[ -e "$work/run/$lost.token" ] && fail "an unknown domain got a token"
cs_xml i-2-10-VM "$cs" pc | "$hook" i-2-10-VM started begin - || fail "started (CloudStack)"
[ -e "$work/run/$cs.token" ] && fail "the CloudStack domain's token outlived QEMU's start"
[ -e "$work/run/$cs.cfg" ] || fail "started/begin removed the QEMU config (libvirt may restart QEMU)"
cs_xml i-2-10-VM "$cs" pc | "$hook" i-2-10-VM release end - || fail "release (CloudStack)"
[ -e "$work/run/$cs.cfg" ] || [ -e "$work/run/$cs.token" ] && fail "release left the config or token"

"$src/hypervisor/libvirt/install.sh" --root "$work/root" >/dev/null
[ -x "$work/root/etc/libvirt/hooks/qemu.d/vgpu" ] || fail "install.sh did not install the hook"
cmp -s "$hook" "$work/root/etc/libvirt/hooks/qemu.d/vgpu" || fail "the installed hook differs"
grep -q "^STATE=/var/lib/vgpu/libvirt$" "$work/root/etc/vgpu/libvirt-hook.conf" ||
  fail "install.sh wrote no settings"
echo "ADMIN=/opt/vgpu-admin" >>"$work/root/etc/vgpu/libvirt-hook.conf"
"$src/hypervisor/libvirt/install.sh" --root "$work/root" >/dev/null
grep -q "^ADMIN=/opt/vgpu-admin$" "$work/root/etc/vgpu/libvirt-hook.conf" ||
  fail "a reinstall overwrote the operator's settings"
"$src/hypervisor/libvirt/install.sh" --root "$work/root" --uninstall >/dev/null
[ -e "$work/root/etc/libvirt/hooks/qemu.d/vgpu" ] && fail "--uninstall left the hook"
echo PASSED
