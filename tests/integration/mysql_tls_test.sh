#!/usr/bin/env bash
# mysql_tls_test: the controller against a real MariaDB whose user `ams`
# must come over TLS with a client certificate (REQUIRE X509), with a CA
# this test makes (openssl), through database.tls mapped onto MariaDB
# Connector/C's ssl options (cli/backends.cc):
#   - database.tls.caFile/certFile/keyFile (VERIFY_IDENTITY) connects and
#     `init-schema` creates the table through it;
#   - a CA that did not sign the server's certificate fails;
#   - no client certificate is refused by the server;
#   - check-config rejects a password inside a mysql:// URL.
set -euo pipefail

src=${AMS_HA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AMS_HA_BINARY_DIR:-$src/build}
bin=$build/controller/ams-ha-controller
mariadbtmp=$src/tests/support/mariadbtmp
[ -x "$bin" ] || { echo "FAIL: $bin is not built"; exit 1; }
. "$src/tests/support/cannot_run.sh"
command -v openssl >/dev/null || cannot_run "openssl" "apt-get install openssl (scripts/install-deps.sh)"
command -v mariadbd >/dev/null || cannot_run "mariadbd" "apt-get install mariadb-server (scripts/install-deps.sh)"

work=$(mktemp -d "${TMPDIR:-/tmp}/ams-maria-tls-XXXXXX")
chmod 755 "$work"  # the server runs as `mysql` when we are root
cleanup() {
  bash "$mariadbtmp" stop "$work/m" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
failures=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

# --- certificates ---------------------------------------------------------
tls=$work/tls
mkdir -p "$tls"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
ca() {
  key "$tls/$1.key"
  openssl req -x509 -new -key "$tls/$1.key" -out "$tls/$1.crt" -days 2 -subj "/CN=$1" 2>/dev/null
}
leaf() {  # leaf NAME CN EXT: a certificate signed by test-ca
  key "$tls/$1.key"
  openssl req -new -key "$tls/$1.key" -out "$tls/$1.csr" -subj "/CN=$2" 2>/dev/null
  printf '%s\n' "$3" >"$tls/$1.ext"
  openssl x509 -req -in "$tls/$1.csr" -CA "$tls/test-ca.crt" -CAkey "$tls/test-ca.key" \
    -CAcreateserial -out "$tls/$1.crt" -days 2 -extfile "$tls/$1.ext" 2>/dev/null
}
ca test-ca
ca other-ca
leaf server 127.0.0.1 "subjectAltName=IP:127.0.0.1"
leaf client ams "extendedKeyUsage=clientAuth"
chmod 644 "$tls"/*  # the server (user mysql) reads its key; a throwaway CA

# --- MariaDB with TLS, user ams only over TLS with a client certificate ----
MARIADBTMP_SERVER_ARGS="--ssl-cert=$tls/server.crt --ssl-key=$tls/server.key --ssl-ca=$tls/test-ca.crt" \
  bash "$mariadbtmp" start "$work/m" "$port" >/dev/null
mariadb --no-defaults --socket="$work/m/mysqld.sock" -u root -e "ALTER USER 'ams'@'%' REQUIRE X509"

export AMS_HA_DB_PASSWORD=ams-test-password
config() {  # config FILE URL [TLS-LINES]
  {
    echo "database:"
    echo "  url: \"$2\""
    [ -n "${3:-}" ] && printf '%s\n' "$3"
    echo "clusters:"
    echo "  - name: prod"
    echo "    podSelector: app=amoro"
  } >"$1"
}
url="mysql://ams@127.0.0.1:$port/amsha"

config "$work/good.yaml" "$url" "  tls:
    caFile: $tls/test-ca.crt
    certFile: $tls/client.crt
    keyFile: $tls/client.key"
if out=$("$bin" init-schema --config "$work/good.yaml" 2>&1); then
  pass "verified TLS with the test CA and a client certificate connects: $out"
else
  fail "verified TLS with the right CA did not connect: $out"
fi
cipher=$(mariadb --no-defaults --socket="$work/m/mysqld.sock" -u root -N -e \
  "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='amsha' AND TABLE_NAME='ha_lease'")
[ "$cipher" = 1 ] && pass "ha_lease was created (user ams can only connect over TLS with a certificate)" ||
  fail "ha_lease missing after init-schema"

expect_fail() {  # expect_fail NAME CONFIG PATTERN
  local out code
  set +e
  out=$("$bin" init-schema --config "$2" 2>&1)
  code=$?
  set -e
  if [ "$code" = 0 ]; then
    fail "$1: connected (exit 0)"
  elif ! printf '%s' "$out" | grep -qi -- "$3"; then
    fail "$1: \"$out\" does not say \"$3\""
  else
    pass "$1: exit $code: $out"
  fi
}

config "$work/wrong-ca.yaml" "$url" "  tls:
    caFile: $tls/other-ca.crt
    certFile: $tls/client.crt
    keyFile: $tls/client.key"
expect_fail "a CA that did not sign the server certificate" "$work/wrong-ca.yaml" \
  "TLS: .*check database.tls.caFile"

config "$work/no-client-cert.yaml" "$url" "  tls:
    mode: require"
expect_fail "no client certificate" "$work/no-client-cert.yaml" "Access denied"

config "$work/password-in-url.yaml" "mysql://ams:ams-test-password@127.0.0.1:$port/amsha"
set +e
out=$("$bin" check-config --config "$work/password-in-url.yaml" 2>&1)
code=$?
set -e
if [ "$code" = 2 ] && printf '%s' "$out" | grep -q "database.url: contains a password"; then
  pass "check-config rejects a password in a mysql:// URL"
else
  fail "check-config on a password in a mysql:// URL: exit $code: $out"
fi
printf '%s' "$out" | grep -q "ams-test-password" && fail "check-config printed the password"

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all passed"
