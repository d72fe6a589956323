#!/usr/bin/env bash
# Installs every Debian 12 package the build, tests and demo need. Idempotent: prints nothing
# and installs nothing when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang-format
  libboost1.81-dev libyaml-cpp-dev libsqlite3-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libspdlog-dev libcli11-dev nlohmann-json3-dev
  gnuplot-nox python3
  prometheus                # promtool and a real Prometheus for the metrics tests
  lintian debootstrap       # the package tests: lint the .debs, install them in a clean tree
  procps                    #   and find the daemon they started there (ps, pkill)
  clang libclang-rt-14-dev  # the fuzz targets (libFuzzer, scripts/fuzz.sh)
  file cpio kmod            # the VM tests' guest image (qemu-stub/make-guest-image.sh)
  libvirt-daemon-system libvirt-clients  # the libvirt adapter against a real libvirtd
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q >/dev/null
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
