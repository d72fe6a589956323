#!/usr/bin/env bash
# The libvirt hook by itself, called as libvirt calls it (`vgpu <name> <op> <subop> -`, the domain
# XML on stdin), and its installer: the token handed over at prepare/begin readable by QEMU's
# user only, a placeholder for a domain the DB does not know, the copy removed at release/end,
# other operations ignored, and install.sh --root / --uninstall.
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

xml known $known | "$hook" known started begin - || fail "the hook failed on another operation"
[ -e "$work/run/$known.token" ] || fail "an operation other than release removed the token"
xml known $known | "$hook" known release end - || fail "the hook failed at release"
[ -e "$work/run/$known.token" ] && fail "release/end left the runtime token"
printf '<domain><uuid>../../etc</uuid></domain>' | "$hook" evil prepare begin - ||
  fail "the hook failed on a bad UUID instead of ignoring it"
[ -e "$work/run/../../etc.token" ] && fail "a UUID with a path in it named a file"

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
