#!/usr/bin/env bash
# The image's build steps, run as the Dockerfile runs them (no container
# engine here): scripts/build-release.sh installs the build packages, builds
# with tests off into a staging prefix, and verifies that the binary runs
# and links only libraries of the runtime package list; then the portable
# bundle logs in to a throwaway MariaDB with a plugin-authenticated user.
set -euo pipefail
source_dir=${AMS_HA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build_dir=${AMS_HA_BINARY_DIR:-$source_dir/build}/release
"$source_dir/scripts/build-release.sh" all --build-dir "$build_dir"

# The portable bundle on MySQL/MariaDB: Connector/C loads authentication
# plugins from a directory at run time (ldd does not see them), so log in
# with a user that needs one (client_ed25519) through the bundle, with an
# empty environment as in an AMS image.
bundle=$(find "$build_dir" -path '*/opt/ams-ha-controller/bin/ams-ha-controller' | head -1)
[ -x "$bundle" ] || { echo "release_build_test: no bundle under $build_dir" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/ams-release-XXXXXX")
trap 'bash "$source_dir/tests/support/mariadbtmp" stop "$work/m" >/dev/null 2>&1; rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bash "$source_dir/tests/support/mariadbtmp" start "$work/m" "$port" >/dev/null
mariadb --no-defaults --socket="$work/m/mysqld.sock" -u root -e "
  INSTALL SONAME 'auth_ed25519';
  CREATE USER 'ed'@'%' IDENTIFIED VIA ed25519 USING PASSWORD('ed-pass');
  GRANT ALL ON amsha.* TO 'ed'@'%';"
cat >"$work/config.yaml" <<YAML
database:
  url: mysql://ed@127.0.0.1:$port/amsha
controller:
  identity: release-test
clusters:
  - name: prod
    podSelector: app=amoro
YAML
env -i AMS_HA_DB_PASSWORD=ed-pass "$bundle" init-schema --config "$work/config.yaml" ||
  { echo "release_build_test: the bundle cannot log in to MariaDB with client_ed25519" >&2; exit 1; }
echo "release_build_test: the bundle logs in to MariaDB through a run-time authentication plugin"
