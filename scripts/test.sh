#!/usr/bin/env bash
# The test command: installs what is missing, builds with warnings as
# errors, checks formatting, and runs the whole suite (unit, integration and
# end-to-end tests start the PostgreSQL servers, the Kubernetes API stand-in
# and the controller processes they need themselves).
#
#   scripts/test.sh              everything
#   scripts/test.sh -L unit      only what matches the ctest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
build=${AMS_HA_BUILD_DIR:-$root/build}

step() { printf '\n==> %s\n' "$*"; }

step "installing missing packages"
scripts/install-deps.sh
if [ -x scripts/kube-tools.sh ]; then
  step "fetching kubectl and helm"
  scripts/kube-tools.sh || echo "kube-tools: kubectl/helm unavailable; tests that need them say so"
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
ctest --output-on-failure --timeout 900 "$@"
