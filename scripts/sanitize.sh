#!/usr/bin/env bash
# The unit and integration tests under sanitizers, each in its own build folder:
#   scripts/sanitize.sh            ASan+UBSan (build-asan), then TSan (build-tsan)
#   scripts/sanitize.sh address    only ASan+UBSan
#   scripts/sanitize.sh thread     only TSan
# The QEMU, VM and GPU tests are left out (QEMU is not instrumented, and CUDA is not built
# under sanitizers). Any report fails the run: ASan/UBSan stop at the first error, TSan exits 66.
set -euo pipefail
cd "$(dirname "$0")/.."
which=("$@")
[ ${#which[@]} -gt 0 ] || which=(address thread)
status=0
for kind in "${which[@]}"; do
  case "$kind" in
    address) dir=build-asan sanitizers=address,undefined ;;
    thread) dir=build-tsan sanitizers=thread ;;
    *) echo "sanitize.sh: unknown kind '$kind' (address or thread)" >&2; exit 2 ;;
  esac
  echo "== $sanitizers: building in $dir"
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVGPU_SANITIZE="$sanitizers" \
    -DVGPU_BUILD_BENCH=OFF >/dev/null
  if ! cmake --build "$dir" >"$dir/build.log" 2>&1; then
    grep -E 'error|FAILED' "$dir/build.log" | head -20
    echo "sanitize.sh: the $sanitizers build failed; see $dir/build.log" >&2
    exit 1
  fi
  # Reports of every process — the tests, and the mediators, admins and clients they start,
  # whose own output goes to their logs — are written under $reports and fail the run.
  reports=$(mktemp -d "/tmp/vgpu-$kind-reports.XXXXXX")
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1:log_path=$reports/asan
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan
  export TSAN_OPTIONS=halt_on_error=0:exitcode=66:second_deadlock_stack=1:log_path=$reports/tsan
  echo "== $sanitizers: unit and integration tests"
  # Left out besides: the three tests that measure the mediator's resident memory and its
  # behaviour at a hard descriptor limit. The sanitizer runtime replaces the allocator (keeping
  # freed memory in quarantine, shadowing what is touched) and holds descriptors of its own, so
  # under it they measure the runtime, not us. And the package test and the dashboard run: the
  # first packages and installs the binaries elsewhere (an instrumented package is not one),
  # the second draws a picture from the same metrics the integration tests check.
  if ! (cd "$dir" && ctest --output-on-failure -j2 -L 'unit|integration' \
          -E 'sdk_install_out_of_tree_plugin|demo_shows_priority_order|deb_packages_install_serve_and_purge|dashboard_renders_from_prometheus|Hardening.MemoryReturnsAfterLargeResults|Hardening.AnnouncedButUnsentDataReservesNothing|Hardening.OutOfDescriptors'); then
    status=1
  fi
  if [ -n "$(ls -A "$reports")" ]; then
    echo "== $sanitizers: reports from the processes the tests ran (in $reports):"
    grep -h -A12 -E '^(WARNING|ERROR|SUMMARY)|runtime error' "$reports"/* | head -80
    status=1
  else
    echo "== $sanitizers: no reports from any process"
    rm -rf "$reports"
  fi
done
exit $status
