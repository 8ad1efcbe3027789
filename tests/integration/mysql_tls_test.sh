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

# shellcheck source=tests/support/tls_test_lib.sh
. "$(cd "$(dirname "$0")/../support" && pwd)/tls_test_lib.sh"
tls_test_init ams-maria-tls
mariadbtmp=$src/tests/support/mariadbtmp
command -v mariadbd >/dev/null || cannot_run "mariadbd" "apt-get install mariadb-server (scripts/install-deps.sh)"
stop_server() { bash "$mariadbtmp" stop "$work/m"; }

# --- certificates ---------------------------------------------------------
make_certs 127.0.0.1 "subjectAltName=IP:127.0.0.1"
chmod 644 "$tls"/* # the server (user mysql) reads its key; a throwaway CA

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

finish
