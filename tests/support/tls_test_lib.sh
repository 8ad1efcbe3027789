# shellcheck shell=bash
# tls_test_lib.sh: what the database TLS tests (integration/postgres_tls_test.sh,
# integration/mysql_tls_test.sh) share, sourced after `set -euo pipefail`:
#
#   tls_test_init NAME   src, build, bin (the controller, must be built),
#                        work (a temp dir removed on exit after calling the
#                        caller's stop_server, if it defines one), port (a free
#                        loopback port), pass/fail and the failures count;
#                        skips (cannot_run) without openssl.
#   make_certs SERVER_CN SERVER_EXT
#                        in $tls: test-ca and other-ca (self-signed), server
#                        (CN and extension as given) and client (CN ams,
#                        clientAuth), both signed by test-ca.
#   finish               exits 1 with the count when anything failed.

tls_test_init() {
  src=${AMS_HA_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
  build=${AMS_HA_BINARY_DIR:-$src/build}
  bin=$build/controller/ams-ha-controller
  [ -x "$bin" ] || { echo "FAIL: $bin is not built"; exit 1; }
  . "$src/tests/support/cannot_run.sh"
  command -v openssl >/dev/null || cannot_run "openssl" "apt-get install openssl (scripts/install-deps.sh)"
  work=$(mktemp -d "${TMPDIR:-/tmp}/$1-XXXXXX")
  chmod 755 "$work" # the server runs as its own user (postgres, mysql) when we are root
  trap tls_test_cleanup EXIT
  failures=0
  # shellcheck disable=SC2034 # for the sourcing test
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  tls=$work/tls
  mkdir -p "$tls"
}

tls_test_cleanup() {
  if declare -F stop_server >/dev/null; then stop_server >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}

pass() { echo "PASS: $*"; }
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

tls_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
tls_ca() { # tls_ca NAME: a self-signed CA
  tls_key "$tls/$1.key"
  openssl req -x509 -new -key "$tls/$1.key" -out "$tls/$1.crt" -days 2 -subj "/CN=$1" 2>/dev/null
}
tls_leaf() { # tls_leaf NAME CN EXT: a certificate signed by test-ca
  tls_key "$tls/$1.key"
  openssl req -new -key "$tls/$1.key" -out "$tls/$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$3" >"$tls/$1.ext"
  openssl x509 -req -in "$tls/$1.csr" -CA "$tls/test-ca.crt" -CAkey "$tls/test-ca.key" \
    -CAcreateserial -out "$tls/$1.crt" -days 2 -extfile "$tls/$1.ext" 2>/dev/null
}

make_certs() {
  tls_ca test-ca
  tls_ca other-ca
  tls_leaf server "$1" "$2"
  tls_leaf client ams "extendedKeyUsage=clientAuth"
}

finish() {
  [ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
  echo "all passed"
}
