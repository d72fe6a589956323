#!/usr/bin/env bash
# Proves the README's two commands on a fresh minimal Debian 12, as a new user would meet it:
# debootstraps a minbase bookworm tree (from this machine's own Debian mirror), installs only
# git and ca-certificates, clones this repository into it, and runs `./run.sh demo` and then
# `./run.sh test` inside it (chroot, with /proc, /sys, /dev and /dev/shm mounted).
#
#   sudo scripts/fresh-debian-test.sh [--demo-only] [--keep] [TREE]
#
# TREE defaults to /var/tmp/vgpu-fresh-debian (removed afterwards unless --keep). Needs root and
# about 8 GB of disk; the test run takes as long as on a new machine (QEMU is built from source
# there too: nothing is taken from this machine's caches). Logs go to TREE.log.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
demo_only=0 keep=0 tree=/var/tmp/vgpu-fresh-debian
for arg in "$@"; do
  case "$arg" in
    --demo-only) demo_only=1 ;;
    --keep) keep=1 ;;
    -*) echo "fresh-debian-test: unknown option $arg" >&2; exit 2 ;;
    *) tree=$arg ;;
  esac
done
[ "$(id -u)" -eq 0 ] || { echo "fresh-debian-test: run as root (debootstrap, chroot)" >&2; exit 2; }
log=$tree.log
: >"$log"

command -v debootstrap >/dev/null || {
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
}

# The mirror this machine uses for bookworm (deb822 or one-line sources), not one we pick.
mirror=$(bash "$here/qemu-stub/deb-src-entries.sh" | awk '
  /^URIs:/ { uri = $2 } /^Suites:/ { if ($0 ~ /bookworm( |$)/ && uri !~ /security/) { print uri; exit } }')
[ -n "$mirror" ] || { echo "fresh-debian-test: no Debian bookworm mirror configured here" >&2; exit 1; }

mounts=()
cleanup() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[$i]}" 2>/dev/null || true; done
  # Never remove the tree while anything is still mounted in it: that would reach the host's
  # /dev or /proc.
  if grep -q " $tree/" /proc/mounts; then
    echo "fresh-debian-test: $tree still has mounts; not removed" >&2
    return
  fi
  [ "$keep" -eq 1 ] || rm -rf --one-file-system "$tree"
}
trap cleanup EXIT

echo "== debootstrap --variant=minbase bookworm $tree ($mirror)"
rm -rf "$tree"
debootstrap --variant=minbase bookworm "$tree" "$mirror" >>"$log" 2>&1
# The tree keeps the sources debootstrap wrote (its mirror, one-line format), as a machine
# installed from that mirror would: the QEMU build must derive its deb-src entries from them.
cp /etc/resolv.conf "$tree/etc/resolv.conf"
for m in proc sys dev dev/pts dev/shm; do
  mkdir -p "$tree/$m"
  mount --bind "/$m" "$tree/$m"
  mounts+=("$tree/$m")
done

in_tree() { chroot "$tree" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 bash -c "$1"; }

echo "== installing only git and ca-certificates"
in_tree "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  --no-install-recommends git ca-certificates" >>"$log" 2>&1
echo "== cloning the repository"
git clone -q "$here" "$tree/root/vgpu"

start=$(date +%s)
echo "== ./run.sh demo (log: $log)"
in_tree "cd /root/vgpu && ./run.sh demo" >>"$log" 2>&1 || {
  echo "fresh-debian-test: ./run.sh demo FAILED after $(( $(date +%s) - start )) s; see $log" >&2
  exit 1
}
echo "   passed in $(( $(date +%s) - start )) s"
[ "$demo_only" -eq 1 ] && exit 0

start=$(date +%s)
echo "== ./run.sh test"
in_tree "cd /root/vgpu && ./run.sh test" >>"$log" 2>&1 || {
  echo "fresh-debian-test: ./run.sh test FAILED after $(( $(date +%s) - start )) s; see $log" >&2
  tail -30 "$log" >&2
  exit 1
}
echo "   passed in $(( $(date +%s) - start )) s"
grep -E 'tests passed|targets ran clean' "$log" | tail -3
echo "fresh-debian-test: 2 passed, 0 failed"
