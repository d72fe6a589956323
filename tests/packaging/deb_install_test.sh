#!/usr/bin/env bash
# The Debian packages, end to end: cpack builds them from the tested build, lintian finds nothing
# unexplained, and in a clean Debian 12 tree (debootstrap) they install with their dependencies,
# create the vgpu user and /var/lib/vgpu, enable the unit without starting it; the mediator runs
# with the unit's own command line as the unit's user and serves a job; a purge leaves nothing
# of vgpu behind. systemd cannot run in a chroot, so the unit's ExecStart, User and
# RuntimeDirectory are applied by hand.
# Usage: deb_install_test.sh <build_dir> <source_dir>. Exit 77 (skipped) without root or a
# Debian mirror.
set -euo pipefail
build=$(realpath "$1")
src=$(realpath "$2")
skip() { echo "SKIPPED: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || skip "debootstrap is not installed (scripts/setup.sh installs it)"
command -v lintian >/dev/null || skip "lintian is not installed (scripts/setup.sh installs it)"

work=$(mktemp -d "${TMPDIR:-/tmp}/vgpu-deb.XXXXXX")
root=$work/root
cleanup() {
  mountpoint -q "$root/proc" && umount "$root/proc"
  [ -f "$work/mediator.pid" ] && pkill -KILL -f '^/usr/bin/vgpu-mediator --config /etc/vgpu/mediator.yaml$' 
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "== packages (cpack, from $build)"
(cd "$build" && cpack -G DEB -B "$work/debs" >"$work/cpack.log" 2>&1) ||
  { cat "$work/cpack.log"; exit 1; }
debs=("$work"/debs/*.deb)
for p in vgpu-mediator vgpu-admin vgpu-guest vgpu-dev vgpu-hypervisor-hooks; do
  ls "$work"/debs/${p}_*.deb >/dev/null 2>&1 || { echo "FAIL: no $p package"; ls "$work/debs"; exit 1; }
done
ls -1 "$work"/debs/*.deb | xargs -n1 basename

echo "== lintian"
bash "$src/scripts/lint-debs.sh" "${debs[@]}"

echo "== a clean Debian 12 tree"
mirror=${VGPU_DEBIAN_MIRROR:-http://deb.debian.org/debian}
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -5 "$work/debootstrap.log"; skip "debootstrap from $mirror failed (no Debian mirror?)"; }
mount -t proc proc "$root/proc"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }
in_root apt-get update -q >/dev/null
# Everything that must be equal before installing and after purging.
snapshot() {
  in_root sh -c 'find / -xdev \( -path /proc -o -path /tmp -o -path /run -o -path /dev \
      -o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache -o -path /var/log \
      -o -path /pkgs \) -prune -o -print | grep -v -e "^/etc/\(passwd\|group\|shadow\|gshadow\)-$" \
      -e "^/etc/ld.so.cache$" | sort; sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow'
}
snapshot >"$work/before.txt"

echo "== install"
mkdir -p "$root/pkgs"
cp "$work"/debs/vgpu-{mediator,admin,guest,dev,hypervisor-hooks}_*.deb "$root/pkgs/"
in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /pkgs/*.deb' \
  >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
fail() { echo "FAIL: $*"; exit 1; }
in_root getent passwd vgpu | grep -q ':/var/lib/vgpu:' || fail "no system user vgpu with home /var/lib/vgpu"
[ "$(in_root stat -c %U:%G:%a /var/lib/vgpu)" = vgpu:vgpu:750 ] || fail "/var/lib/vgpu: $(in_root stat -c %U:%G:%a /var/lib/vgpu)"
[ -L "$root/etc/systemd/system/multi-user.target.wants/vgpu-mediator.service" ] ||
  fail "the unit is not enabled"
[ "$(in_root stat -c %G /etc/vgpu/mediator.yaml)" = vgpu ] || fail "/etc/vgpu/mediator.yaml is not readable by group vgpu"
for f in /usr/bin/vgpu-mediator /usr/bin/vgpu-admin /usr/bin/vgpu-client /usr/bin/vgpu-sim \
         /usr/lib/vgpu/plugins/libvgpu-executor-cpu.so /usr/include/vgpu/sdk/plugin.hpp \
         /usr/include/vgpu/guest.h /usr/lib/cmake/vgpu/vgpuConfig.cmake \
         /usr/share/vgpu/hypervisor/xcpng/vgpu-vm-startup.sh /lib/systemd/system/vgpu-mediator.service \
         /usr/share/vgpu/hypervisor/libvirt/vgpu-hook \
         /usr/lib/tmpfiles.d/vgpu.conf; do
  [ -e "$root$f" ] || fail "$f is not installed"
done
echo "installed: user vgpu, /var/lib/vgpu, unit enabled"

echo "== the unit's command line, as the unit's user"
unit=$root/lib/systemd/system/vgpu-mediator.service
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
user=$(sed -n 's/^User=//p' "$unit")
[ "$user" = vgpu ] || fail "the unit runs as '$user'"
# Free ports for this run (the packaged 7800 and 9780 may be taken on a test machine): the
# operator's edit of the conffile.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port) metrics_port=$(free_port)
sed -i "s/^    port: 7800$/    port: $port/; s/^  port: 9780$/  port: $metrics_port/" "$root/etc/vgpu/mediator.yaml"
grep -q "port: $port" "$root/etc/vgpu/mediator.yaml" || fail "could not set the port"
as_vgpu() { in_root setpriv --reuid vgpu --regid vgpu --init-groups --no-new-privs "$@"; }
install -d -m 0755 -o "$(in_root id -u vgpu)" -g "$(in_root id -g vgpu)" "$root/run/vgpu"  # RuntimeDirectory=vgpu
as_vgpu vgpu-admin --hypervisor none --db /var/lib/vgpu/vgpu.db create-pool tenants >/dev/null
token=$(as_vgpu vgpu-admin --hypervisor none --db /var/lib/vgpu/vgpu.db register-vm \
  --vm-uuid 00000000-0000-0000-0000-0000000000aa --pool tenants --priority high --issue-token |
  grep -oE '[0-9a-f]{32}')
vm_id=$(as_vgpu vgpu-admin --hypervisor none --db /var/lib/vgpu/vgpu.db show-vm --json \
  00000000-0000-0000-0000-0000000000aa | python3 -c 'import json,sys; print(json.load(sys.stdin)["vm_id"])')
# shellcheck disable=SC2086  # ExecStart is a command line
as_vgpu $exec_start >"$work/mediator.log" 2>&1 &
echo $! >"$work/mediator.pid"
for _ in $(seq 100); do
  grep -q "listening on tcp://" "$work/mediator.log" && break
  kill -0 "$(cat "$work/mediator.pid")" 2>/dev/null || break
  sleep 0.1
done
grep -q "listening on tcp://" "$work/mediator.log" || { cat "$work/mediator.log"; fail "the mediator did not start"; }
out=$(in_root vgpu-client --port "$port" --vm-id "$vm_id" --token "$token" run vector_add 2>&1) ||
  { echo "$out"; cat "$work/mediator.log"; fail "the job failed"; }
echo "$out"
case $out in *"vector_add ok"*) ;; *) fail "unexpected answer: $out" ;; esac
# The daemon itself (the background job is the shell around chroot and setpriv).
# Compared by number: the host may give the tree's vgpu uid another name.
owner=$(ps -e -o uid=,args= | awk '$2 == "/usr/bin/vgpu-mediator" && $4 == "/etc/vgpu/mediator.yaml" {print $1}')
[ "$owner" = "$(in_root id -u vgpu)" ] || fail "the mediator runs as uid '$owner', not vgpu's"
status=$(as_vgpu vgpu-admin --db /var/lib/vgpu/vgpu.db --hypervisor none status 2>&1) ||
  { echo "$status"; fail "vgpu-admin status cannot reach /run/vgpu/admin.sock"; }
python3 - "$metrics_port" <<'PY' || fail "no metrics on the packaged endpoint"
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
assert 'status="ok"} 1' in text, text
PY
pkill -TERM -f '^/usr/bin/vgpu-mediator --config /etc/vgpu/mediator.yaml$'
wait "$(cat "$work/mediator.pid")" || fail "the mediator did not stop cleanly on SIGTERM"
rm -f "$work/mediator.pid"
echo "served a job as user vgpu, stopped cleanly"

echo "== purge"
in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q vgpu-mediator vgpu-admin vgpu-guest vgpu-dev vgpu-hypervisor-hooks && apt-get autoremove --purge -y -q' \
  >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; exit 1; }
rm -rf "$root/pkgs"
snapshot >"$work/after.txt"
if ! diff -u "$work/before.txt" "$work/after.txt"; then
  fail "the purge left the files above behind (or changed the user database)"
fi
echo "PASS: installed, served a job as vgpu, purged without a trace"
