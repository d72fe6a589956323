#!/usr/bin/env bash
# Makes the small bootable guest the VM tests use, from Debian 12 packages only:
#   <out>/vmlinuz          the Debian kernel (linux-image-amd64's current version)
#   <out>/initramfs.gz     busybox-static, the virtio-net/9p modules, a statically linked
#                          vgpu-client and qemu-stub/guest/init as /init
#   qemu-stub/make-guest-image.sh <out-dir> <static vgpu-client>
# Downloads are cached in ${VGPU_CACHE:-~/.cache/vgpu}/guest-debs; the image is remade only
# when the client, the init script or the kernel changed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: make-guest-image.sh <out-dir> <static vgpu-client>}
client=${2:?usage: make-guest-image.sh <out-dir> <static vgpu-client>}
cache=${VGPU_CACHE:-$HOME/.cache/vgpu}
debs=$cache/guest-debs
mkdir -p "$out" "$debs"

# The tools this script uses, installed before their first use (a minimal Debian has none).
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
for tool in cpio:cpio modinfo:kmod file:file; do
  command -v "${tool%%:*}" >/dev/null || {
    "${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
      --no-install-recommends "${tool#*:}" >/dev/null
  }
done

if ! file -b "$client" | grep -q 'statically linked\|static-pie'; then
  echo "make-guest-image: $client is not a statically linked executable ($(file -b "$client"))" >&2
  exit 1
fi

kernel_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
[ -n "$kernel_pkg" ] || { echo "make-guest-image: cannot tell which kernel linux-image-amd64 is" >&2; exit 1; }
for pkg in "$kernel_pkg" busybox-static; do
  ls "$debs/${pkg}"_*.deb >/dev/null 2>&1 ||
    (cd "$debs" && apt-get download -q "$pkg" >/dev/null 2>&1) || {
      echo "make-guest-image: apt-get download $pkg failed" >&2
      exit 1
    }
done

stamp=$(cat "$client" "$here/guest/init" "$0" | sha256sum | cut -c1-16)-$kernel_pkg
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] && [ -f "$out/initramfs.gz" ]; then
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dpkg-deb -x "$debs/${kernel_pkg}"_*.deb "$work/kernel"
dpkg-deb -x "$debs"/busybox-static_*.deb "$work/busybox"
version=${kernel_pkg#linux-image-}
moddir=$work/kernel/lib/modules/$version

root=$work/root
mkdir -p "$root"/{bin,etc,lib/modules,proc,sys,dev,tmp,mnt}
cp "$work/busybox/bin/busybox" "$root/bin/busybox"
cp "$client" "$root/bin/vgpu-client"
install -m 755 "$here/guest/init" "$root/init"

# The modules the tests need and everything they depend on, dependencies first.
declare -A loaded=()
order=()
add_module() {
  local name=$1 file dep
  [ -n "${loaded[$name]:-}" ] && return
  file=$(find "$moddir" -name "$name.ko" | head -n1)
  [ -n "$file" ] || { echo "make-guest-image: module $name not in $kernel_pkg" >&2; exit 1; }
  loaded[$name]=1
  for dep in $(modinfo -F depends "$file" | tr ',' ' '); do add_module "$dep"; done
  cp "$file" "$root/lib/modules/$name.ko"
  order+=("$name")
}
for m in virtio_pci virtio_net 9pnet_virtio 9p; do add_module "$m"; done
printf '%s\n' "${order[@]}" >"$root/etc/vgpu-modules"

cp "$work/kernel/boot/vmlinuz-$version" "$out/vmlinuz"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.gz"
echo "$stamp" >"$out/stamp"
echo "make-guest-image: $out/vmlinuz + initramfs.gz ($kernel_pkg, ${#order[@]} modules)" >&2
