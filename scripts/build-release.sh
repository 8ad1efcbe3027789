#!/usr/bin/env bash
# The release build of ams-ha-controller: the steps the Dockerfile runs, and
# CI runs too (tests/integration/release_build_test.sh), so that a green CI
# proves the image's build on a machine without a container engine.
#
#   scripts/build-release.sh [all]        build-deps, build, verify
#   scripts/build-release.sh build-deps   install the Debian 12 -dev packages
#   scripts/build-release.sh build        configure (tests off, -Werror), build,
#                                         install stripped into the staging dir,
#                                         and make the portable bundle
#   scripts/build-release.sh verify       the staged binary runs --version; it
#                                         links only libraries of the runtime
#                                         packages; every system header, CMake
#                                         package and library the build used
#                                         belongs to the build packages; the
#                                         bundle runs with nothing outside it
#   scripts/build-release.sh runtime-deps install the runtime packages (image)
#   scripts/build-release.sh packages build|runtime   print a package list
#
# Options (after the command): --build-dir DIR (default build-release),
# --stage DIR (default <build-dir>/stage). The binary lands in
# <stage>/usr/local/bin/ams-ha-controller, and the portable bundle in
# <stage>/opt/ams-ha-controller: bin/ams-ha-controller (a launcher),
# libexec/ams-ha-controller (the binary) and lib/ (every library it loads,
# with the dynamic loader). The bundle is what AMS pods copy in to run
# `ams-ha-controller gate` (their images have neither these libraries nor
# Debian 12's glibc): the launcher starts the binary through the bundled
# loader, against lib/ only.
set -euo pipefail

# What the build needs: compiler, CMake and the -dev packages of the
# libraries CMakeLists.txt finds (Debian 12 versions: cpprestsdk 2.10.18,
# libpqxx 6.4.5, yaml-cpp 0.7, prometheus-cpp 1.0.1, civetweb 1.15, MariaDB Connector/C 3.3).
BUILD_PACKAGES=(
  g++ make cmake pkg-config
  libcpprest-dev libboost-dev libssl-dev libpqxx-dev libpq-dev libyaml-cpp-dev prometheus-cpp-dev
  libcivetweb-dev libmariadb-dev
)
# What the binary needs at run time, and nothing else: the image installs
# exactly these (plus their own dependencies).
RUNTIME_PACKAGES=(
  libcpprest2.10 libpqxx-6.4 libyaml-cpp0.7 libprometheus-cpp-core1.0 libcivetweb1
  libmariadb3 libssl3 ca-certificates
)

cd "$(dirname "$0")/.."
root=$(pwd)
command=${1:-all}
[ $# -gt 0 ] && shift
build_dir=$root/build-release
stage=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$(realpath -m "$2"); shift 2 ;;
    --stage) stage=$(realpath -m "$2"); shift 2 ;;
    *) break ;;
  esac
done
stage=${stage:-$build_dir/stage}
binary=$stage/usr/local/bin/ams-ha-controller
bundle=$stage/opt/ams-ha-controller

say() { printf 'build-release: %s\n' "$*"; }
die() { printf 'build-release: FAILED: %s\n' "$*" >&2; exit 1; }

apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "packages present: $*"
    return
  fi
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# The packages apt installs for "$@": themselves and every package their
# Depends/Pre-Depends reach, plus the Essential ones every Debian image has.
closure() {
  {
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
      --no-replaces --no-enhances "$@" 2>/dev/null | grep -v '^ ' | grep -v '^<'
    dpkg-query -W -f='${Package} ${Essential}\n' | awk '$2 == "yes" {print $1}'
  } | sed 's/:.*//' | sort -u
}

# The package owning each path on stdin ("path<TAB>package", or "-" when no
# package does), from dpkg's file lists in one pass. Debian 12 merges /lib
# into /usr/lib, but dpkg records each file under the name its package
# shipped, so both spellings are tried, then the path with symlinks resolved.
owners() {
  local wanted
  wanted=$(mktemp)
  cat >"$wanted"
  awk '
    FILENAME == ARGV[1] { if ($0 != "") paths[++n] = $0; next }
    FNR == 1 { pkg = FILENAME; sub(/.*\//, "", pkg); sub(/\.list$/, "", pkg); sub(/:.*/, "", pkg) }
    { owner[$0] = pkg }
    function lookup(p,   o) {
      o = owner[p]
      if (o == "" && p ~ /^\/usr\/lib\//) o = owner[substr(p, 5)]
      if (o == "" && p ~ /^\/(lib|lib64)\//) o = owner["/usr" p]
      return o
    }
    END {
      for (i = 1; i <= n; i++) {
        p = paths[i]
        o = lookup(p)
        if (o == "") {
          r = ""
          cmd = "realpath -e \"" p "\" 2>/dev/null"
          cmd | getline r
          close(cmd)
          if (r != "" && r != p) o = lookup(r)
        }
        printf "%s\t%s\n", p, (o == "" ? "-" : o)
      }
    }' "$wanted" /var/lib/dpkg/info/*.list
  rm -f "$wanted"
}

# Fails naming every path of stdin whose package is not in the closure of
# the given packages.
check_owned_by() {
  local what=$1
  shift
  local allowed bad
  allowed=$(closure "$@")
  bad=$(owners | awk -F'\t' -v allowed="$allowed" '
    BEGIN { n = split(allowed, a, "\n"); for (i = 1; i <= n; i++) ok[a[i]] = 1 }
    !($2 in ok) { print "  " $1 " (package " $2 ")" }')
  if [ -n "$bad" ]; then
    die "$what outside the package list:"$'\n'"$bad"
  fi
}

do_build() {
  say "configuring in $build_dir (Release, tests off, warnings as errors)"
  mkdir -p "$build_dir"
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DAMS_HA_BUILD_TESTS=OFF \
    -DAMS_HA_WERROR=ON -DCMAKE_INSTALL_PREFIX=/usr/local >"$build_dir/configure.log" 2>&1 ||
    { cat "$build_dir/configure.log"; die "cmake configure"; }
  say "building with $(nproc) jobs"
  cmake --build "$build_dir" -j"$(nproc)" --target ams-ha-controller
  rm -rf "$stage"
  DESTDIR=$stage cmake --install "$build_dir" --strip >/dev/null
  [ -x "$binary" ] || die "nothing installed at $binary"
  say "staged $binary ($(du -h "$binary" | cut -f1))"
  make_bundle
}

make_bundle() {
  mkdir -p "$bundle/bin" "$bundle/libexec" "$bundle/lib"
  install -m 0755 "$binary" "$bundle/libexec/ams-ha-controller"
  local lib
  for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
    install -m 0755 "$(realpath "$lib")" "$bundle/lib/$(basename "$lib")"
  done
  [ -x "$bundle/lib/ld-linux-x86-64.so.2" ] || die "no dynamic loader in the bundle"
  # MariaDB Connector/C loads its authentication plugins (MySQL 8's
  # caching_sha2_password, ed25519, ...) at run time from a directory, not
  # through ldd; they need only libcrypto and libc, already bundled.
  local plugins=/usr/lib/x86_64-linux-gnu/libmariadb3/plugin
  [ -d "$plugins" ] || die "no MariaDB Connector/C plugins in $plugins (apt-get install libmariadb3)"
  mkdir -p "$bundle/lib/mariadb-plugin"
  install -m 0755 "$plugins"/*.so "$bundle/lib/mariadb-plugin/"
  cat >"$bundle/bin/ams-ha-controller" <<'LAUNCHER'
#!/bin/sh
# ams-ha-controller with the libraries it was built with (Debian 12), for
# images that lack them, e.g. the gate in an AMS container: the bundled
# dynamic loader runs the binary against this bundle's lib/ only.
dir=$(cd "$(dirname "$0")/.." && pwd -P)
MARIADB_PLUGIN_DIR="$dir/lib/mariadb-plugin"
export MARIADB_PLUGIN_DIR
exec "$dir/lib/ld-linux-x86-64.so.2" --library-path "$dir/lib" "$dir/libexec/ams-ha-controller" "$@"
LAUNCHER
  chmod 0755 "$bundle/bin/ams-ha-controller"
  say "bundled $bundle ($(du -sh "$bundle" | cut -f1), $(ls "$bundle/lib" | wc -l) libraries)"
}

verify_bundle() {
  [ -x "$bundle/bin/ams-ha-controller" ] || die "no bundle at $bundle (run: $0 build)"
  local version resolved outside
  version=$(env -i "$bundle/bin/ams-ha-controller" --version) || die "the bundle does not run"
  [ "$version" = "$("$binary" --version)" ] || die "the bundle printed '$version'"
  # What the bundled loader resolves, with no system library path to fall
  # back on: every library must come from lib/.
  resolved=$("$bundle/lib/ld-linux-x86-64.so.2" --inhibit-cache --library-path "$bundle/lib" \
    --list "$bundle/libexec/ams-ha-controller") || die "the bundled loader cannot resolve the binary"
  outside=$(grep '=>' <<<"$resolved" | grep -v "=> $bundle/lib/" || true)
  [ -z "$outside" ] || die "the bundle resolves libraries outside lib/:"$'\n'"$outside"
  say "bundle: runs with an empty environment; all $(grep -c '=>' <<<"$resolved") libraries resolve inside lib/"
}

do_verify() {
  [ -x "$binary" ] || die "no staged binary at $binary (run: $0 build)"
  local expected version
  expected=$(sed -n 's/^project(ams-ha-controller VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
  version=$("$binary" --version) || die "$binary --version exited $?"
  [ "$version" = "ams-ha-controller $expected" ] ||
    die "--version printed '$version', expected 'ams-ha-controller $expected'"
  say "--version: $version"

  local libs
  libs=$(ldd "$binary")
  if grep -q "not found" <<<"$libs"; then die "unresolved libraries:"$'\n'"$libs"; fi
  grep -o '/[^ ]*' <<<"$libs" | grep -v '^/\s*$' | sort -u |
    check_owned_by "runtime libraries" "${RUNTIME_PACKAGES[@]}"
  say "ldd: $(grep -c '=>' <<<"$libs") libraries, all from: ${RUNTIME_PACKAGES[*]} (and their dependencies)"

  # Everything the build read from the system: headers (from the compiler's
  # dependency files), CMake package configurations and linked libraries.
  local used
  used=$({
    find "$build_dir" -name '*.o.d' -exec cat {} + | tr ' \\' '\n\n' | grep '^/usr/'
    grep -E '^[A-Za-z0-9_-]+_DIR:(PATH|INTERNAL)=/usr' "$build_dir/CMakeCache.txt" |
      sed 's/^[^=]*=//' | while read -r dir; do find "$dir" -maxdepth 1 -name '*.cmake'; done
    find "$build_dir" -name link.txt -exec cat {} + | tr ' ' '\n' | grep -E '^/usr/.*\.(so|a)'
  } | sort -u)
  [ -n "$used" ] || die "no dependency files in $build_dir"
  check_owned_by "build inputs" "${BUILD_PACKAGES[@]}" <<<"$used"
  say "build inputs: $(wc -l <<<"$used") system files, all from: ${BUILD_PACKAGES[*]} (and their dependencies)"
  verify_bundle
}

case "$command" in
  build-deps) apt_install "${BUILD_PACKAGES[@]}" ;;
  runtime-deps) apt_install "${RUNTIME_PACKAGES[@]}" ;;
  build) do_build ;;
  verify) do_verify ;;
  all)
    apt_install "${BUILD_PACKAGES[@]}"
    do_build
    do_verify
    ;;
  packages)
    case "${1:-}" in
      build) printf '%s\n' "${BUILD_PACKAGES[@]}" ;;
      runtime) printf '%s\n' "${RUNTIME_PACKAGES[@]}" ;;
      *) die "packages: say build or runtime" ;;
    esac
    ;;
  *) die "unknown command '$command' (all, build-deps, build, verify, runtime-deps, packages)" ;;
esac
