#!/usr/bin/env bash
# The one entry point for a new user and for CI. Each command installs what is missing
# (Debian 12 packages), builds, then does its job:
#   ./run.sh demo    the mediator with several VMs of different priorities sharing one worker
#   ./run.sh test     every test: unit, integration, and the QEMU device and VM tests (builds
#                     QEMU 7.2 with vgpu-stub once, ~7 min, cached); gpu tests skip without a GPU
#   ./run.sh vm-test  only the QEMU device (label qemu) and VM end-to-end (label vm) tests
#   ./run.sh bench    the Google Benchmark programs
set -euo pipefail
cd "$(dirname "$0")"
build_dir=${VGPU_BUILD_DIR:-build}

setup_and_build() {
  bash scripts/setup.sh
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir"
}

case "${1:-}" in
  demo)
    setup_and_build
    bash scripts/demo.sh "$build_dir"
    ;;
  test)
    setup_and_build
    bash scripts/prepare-vm-tests.sh "$build_dir"
    (cd "$build_dir" && ctest --output-on-failure -j2)
    ;;
  vm-test)
    setup_and_build
    bash scripts/prepare-vm-tests.sh "$build_dir"
    (cd "$build_dir" && ctest --output-on-failure -L 'qemu|vm')
    ;;
  bench)
    setup_and_build
    bash scripts/bench.sh "$build_dir"
    ;;
  *)
    echo "usage: ./run.sh demo | test | vm-test | bench" >&2
    exit 2
    ;;
esac
