#!/usr/bin/env bash
# The image's build steps, run as the Dockerfile runs them (no container
# engine here): scripts/build-release.sh installs the build packages, builds
# with tests off into a staging prefix, and verifies that the binary runs
# and links only libraries of the runtime package list.
set -euo pipefail
source_dir=${AMS_HA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build_dir=${AMS_HA_BINARY_DIR:-$source_dir/build}/release
exec "$source_dir/scripts/build-release.sh" all --build-dir "$build_dir"
