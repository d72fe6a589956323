#!/usr/bin/env bash
# The one entry point for a new user and for CI. Each command installs what is missing
# (Debian 12 packages), builds, then does its job:
#   ./run.sh demo    the mediator with several VMs of different priorities sharing one worker
#   ./run.sh test     every test: unit, integration, and the QEMU device and VM tests (builds
#                     QEMU 7.2 with vgpu-stub once, ~7 min, cached); gpu tests skip without a GPU
#   ./run.sh vm-test  only the QEMU device (label qemu) and VM end-to-end (label vm) tests
#   ./run.sh bench    the Google Benchmark programs
#   ./run.sh sanitize the unit and integration tests under ASan+UBSan, then TSan
#   ./run.sh fuzz     every fuzz target (scripts/fuzz.sh; --seconds N or --runs N)
set -euo pipefail
cd "$(dirname "$0")"
build_dir=${VGPU_BUILD_DIR:-build}

# setup_and_build [target]: installs what is missing, then builds everything, or one target.
setup_and_build() {
  bash scripts/setup.sh
  cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build_dir" ${1:+--target "$1"}
}

# Runs the tests with a scratch folder of their own as TMPDIR: removed after a clean run, kept
# (and named) after a failure, so /tmp never fills up with what tests leave.
run_tests() {
  local scratch status=0
  scratch=$(mktemp -d /tmp/vgpu-tests.XXXXXX)
  chmod 0711 "$scratch"  # like /tmp for the tests that act as a VM's own uid: passable, unlisted
  # --timeout: a test without a limit of its own (each VM test's case) is stopped after 10
  # minutes, so that one that hangs fails by name instead of running CI out of time; stdbuf:
  # each result line is written as it comes, so a CI run cut short still shows where it was.
  (cd "$build_dir" && TMPDIR=$scratch stdbuf -oL ctest --output-on-failure -j2 --timeout 600 "$@") ||
    status=$?
  bash scripts/show-skips.sh "$build_dir"
  if [ "$status" -eq 0 ]; then rm -rf "$scratch"; else echo "test files kept in $scratch"; fi
  return "$status"
}

case "${1:-}" in
  demo)
    setup_and_build vgpu-programs
    bash scripts/demo.sh "$build_dir"
    ;;
  test)
    setup_and_build
    bash scripts/prepare-vm-tests.sh "$build_dir"
    # A short run of every fuzz target first (clang, ASan and UBSan; ./run.sh fuzz runs longer).
    bash scripts/fuzz.sh --seconds 10
    run_tests
    ;;
  sanitize)
    bash scripts/setup.sh
    bash scripts/sanitize.sh
    ;;
  fuzz)
    bash scripts/setup.sh
    shift
    bash scripts/fuzz.sh "$@"
    ;;
  vm-test)
    setup_and_build
    bash scripts/prepare-vm-tests.sh "$build_dir"
    run_tests -L 'qemu|vm'
    ;;
  bench)
    setup_and_build
    bash scripts/bench.sh "$build_dir"
    ;;
  *)
    echo "usage: ./run.sh demo | test | vm-test | bench | sanitize | fuzz [--seconds N]" >&2
    exit 2
    ;;
esac
