#!/usr/bin/env bash
# Builds a minimal qemu-system-x86_64 (QEMU 7.2 from Debian 12's source package) with the
# vgpu-stub device compiled in, and caches it. Prints the binary's path on its last line.
#
#   qemu-stub/build-qemu.sh            build or reuse the cached binary
#   VGPU_CACHE=/some/dir ...           where sources, build tree and binary live
#                                      (default ~/.cache/vgpu)
#
# The first run fetches the source (apt-get source, after adding deb-src entries that mirror the
# machine's own Debian sources: deb-src-entries.sh), configures
# an x86_64-softmmu-only build and compiles it: about 7 minutes on 2 cores. Later runs copy
# the device in again and let ninja rebuild what changed: seconds when nothing did.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
cache=${VGPU_CACHE:-$HOME/.cache/vgpu}
qemu_dir=$cache/qemu
log=$cache/qemu-build.log
mkdir -p "$cache"

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive

# What configure and the build need, plus the firmware (-L) and tools the VM tests use.
packages=(dpkg-dev build-essential ninja-build meson pkg-config python3 python3-venv flex bison
  libglib2.0-dev libpixman-1-dev zlib1g-dev libslirp-dev libattr1-dev libcap-ng-dev libfdt-dev
  seabios qemu-system-data)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "build-qemu: installing ${missing[*]}" >&2
  "${sudo_cmd[@]}" apt-get update -q >/dev/null
  "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

src=$(ls -d "$qemu_dir"/qemu-7.2*/ 2>/dev/null | head -n1 || true)
if [ -z "$src" ]; then
  # apt-get source needs deb-src entries: add ones mirroring this machine's own Debian sources
  # (its mirror, -updates and -security), never a mirror of our choosing.
  if ! grep -rqs '^Types:.*deb-src\|^deb-src' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    entries=$(bash "$here/deb-src-entries.sh")
    if [ -z "$entries" ]; then
      echo "build-qemu: no Debian bookworm 'deb' source in /etc/apt to mirror as deb-src;" \
           "add a deb-src entry for your mirror and run again" >&2
      exit 1
    fi
    echo "build-qemu: adding deb-src entries for this machine's Debian sources" >&2
    printf '%s\n' "$entries" | "${sudo_cmd[@]}" tee /etc/apt/sources.list.d/vgpu-deb-src.sources >/dev/null
    "${sudo_cmd[@]}" apt-get update -q >/dev/null
  fi
  mkdir -p "$qemu_dir"
  echo "build-qemu: fetching QEMU's source package into $qemu_dir" >&2
  (cd "$qemu_dir" && apt-get source -q qemu >"$log" 2>&1) || {
    echo "build-qemu: apt-get source qemu failed, see $log" >&2
    exit 1
  }
  src=$(ls -d "$qemu_dir"/qemu-7.2*/ | head -n1)
fi
src=${src%/}
case $(basename "$src") in
  qemu-7.2*) ;;
  *) echo "build-qemu: expected QEMU 7.2 source, found $src" >&2; exit 1 ;;
esac

bash "$here/install-into-qemu.sh" "$src" >&2

build=$src/build-vgpu
if [ ! -f "$build/build.ninja" ]; then
  echo "build-qemu: configuring (x86_64-softmmu, slirp, virtfs)" >&2
  rm -rf "$build"
  mkdir -p "$build"
  # Only what the VM tests use: TCG or KVM, the pc machine, virtio-net with slirp, 9p.
  (cd "$build" && ../configure --target-list=x86_64-softmmu --disable-docs --disable-werror \
    --disable-user --disable-tools --disable-gtk --disable-sdl --disable-opengl --disable-vnc \
    --disable-spice --disable-curses --disable-xen --disable-capstone --disable-guest-agent \
    --enable-slirp --enable-virtfs --enable-kvm --enable-tcg >>"$log" 2>&1) || {
    echo "build-qemu: configure failed, see $log" >&2
    tail -n 20 "$log" >&2
    exit 1
  }
fi
echo "build-qemu: ninja in $build (a first build takes about 7 minutes on 2 cores; log: $log)" >&2
ninja -C "$build" qemu-system-x86_64 >>"$log" 2>&1 || {
  echo "build-qemu: build failed, see $log" >&2
  grep -m5 -B2 -A5 'error' "$log" >&2 || tail -n 20 "$log" >&2
  exit 1
}
mkdir -p "$cache/bin"
install -m 755 "$build/qemu-system-x86_64" "$cache/bin/qemu-system-x86_64"
echo "$cache/bin/qemu-system-x86_64"
