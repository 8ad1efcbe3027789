#!/usr/bin/env bash
# postgres_tls_test: the controller against a real PostgreSQL that accepts
# only TLS with a client certificate (pg_hba: hostssl ... clientcert=verify-full),
# with a CA this test makes (openssl):
#   - database.tls.caFile/certFile/keyFile (sslmode verify-full) connects
#     (`init-schema` creates the table through it);
#   - a CA that did not sign the server's certificate fails with one line;
#   - a host name the certificate does not carry fails with one line;
#   - no client certificate is refused by the server, with one line;
#   - check-config rejects a password inside database.url and says where
#     the password belongs.
set -euo pipefail

# shellcheck source=tests/support/tls_test_lib.sh
. "$(cd "$(dirname "$0")/../support" && pwd)/tls_test_lib.sh"
tls_test_init ams-pg-tls
pgtmp=$src/tests/support/pgtmp
db=$work/pg
stop_server() { "$pgtmp" stop "$db"; }

# --- certificates ---------------------------------------------------------
make_certs localhost "subjectAltName=DNS:localhost"
chmod 600 "$tls"/*.key

# --- PostgreSQL with TLS only ---------------------------------------------
"$pgtmp" start "$db" "$port" >/dev/null
"$pgtmp" stop "$db"
pgtls=$db/data/tls
mkdir -p "$pgtls"
cp "$tls/server.crt" "$tls/server.key" "$tls/test-ca.crt" "$pgtls/"
[ "$(id -u)" = 0 ] && chown -R postgres: "$pgtls"
chmod 600 "$pgtls/server.key"
cat >>"$db/data/postgresql.conf" <<CONF
ssl = on
ssl_cert_file = '$pgtls/server.crt'
ssl_key_file = '$pgtls/server.key'
ssl_ca_file = '$pgtls/test-ca.crt'
CONF
# TCP only over TLS with a client certificate whose CN is the user, and the
# password on top; the Unix socket stays for pgtmp's own set-up.
cat >"$db/data/pg_hba.conf" <<'HBA'
local all all trust
hostssl all all 127.0.0.1/32 scram-sha-256 clientcert=verify-full
HBA
"$pgtmp" start "$db" "$port" >/dev/null

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
tls_all="  tls:
    caFile: $tls/test-ca.crt
    certFile: $tls/client.crt
    keyFile: $tls/client.key"
# localhost resolves to ::1 first on some machines; the server listens on
# 127.0.0.1, and verify-full checks the name, not the address.
good_url="postgresql://ams@localhost:$port/amsha?hostaddr=127.0.0.1"

# expect_fail NAME CONFIG-FILE PATTERN: init-schema must fail with exactly
# one line of output that matches PATTERN.
expect_fail() {
  local out code lines
  set +e
  out=$("$bin" init-schema --config "$2" 2>&1)
  code=$?
  set -e
  lines=$(printf '%s\n' "$out" | grep -c .)
  if [ "$code" = 0 ]; then
    fail "$1: connected (exit 0)"
  elif [ "$lines" != 1 ]; then
    fail "$1: $lines lines of output, want one: $out"
  elif ! printf '%s' "$out" | grep -q -- "$3"; then
    fail "$1: \"$out\" does not say \"$3\""
  else
    pass "$1: exit $code: $out"
  fi
}

config "$work/good.yaml" "$good_url" "$tls_all"
if out=$("$bin" init-schema --config "$work/good.yaml" 2>&1); then
  pass "verify-full with the test CA and a client certificate connects: $out"
else
  fail "verify-full with the right CA did not connect: $out"
fi
tables=$(runuser -u postgres -- psql -h "$db/run" -p "$port" -U postgres -d amsha -Atc \
  "SELECT count(*) FROM pg_tables WHERE tablename = 'ha_lease'" 2>/dev/null ||
  psql -h "$db/run" -p "$port" -U postgres -d amsha -Atc \
    "SELECT count(*) FROM pg_tables WHERE tablename = 'ha_lease'")
# pg_hba accepts TCP only as hostssl: the table came over TLS.
[ "$tables" = 1 ] && pass "ha_lease was created over TLS" || fail "ha_lease missing after init-schema"

config "$work/wrong-ca.yaml" "$good_url" "  tls:
    caFile: $tls/other-ca.crt
    certFile: $tls/client.crt
    keyFile: $tls/client.key"
expect_fail "a CA that did not sign the server certificate" "$work/wrong-ca.yaml" \
  "not signed by the CA in database.tls.caFile"

config "$work/wrong-host.yaml" "postgresql://ams@127.0.0.1:$port/amsha" "$tls_all"
expect_fail "a host name the certificate does not carry" "$work/wrong-host.yaml" \
  'does not match host name "127.0.0.1"'

config "$work/no-client-cert.yaml" "$good_url" "  tls:
    caFile: $tls/test-ca.crt"
expect_fail "no client certificate" "$work/no-client-cert.yaml" \
  "set database.tls.certFile and keyFile"

config "$work/password-in-url.yaml" "postgresql://ams:ams-test-password@localhost:$port/amsha" \
  "$tls_all"
set +e
out=$("$bin" check-config --config "$work/password-in-url.yaml" 2>&1)
code=$?
set -e
if [ "$code" = 2 ] && printf '%s' "$out" | grep -q "database.url: contains a password" &&
  printf '%s' "$out" | grep -q "database.passwordFile" &&
  printf '%s' "$out" | grep -q "AMS_HA_DB_PASSWORD"; then
  pass "check-config rejects a password in database.url: $out"
else
  fail "check-config on a password in database.url: exit $code: $out"
fi
if printf '%s' "$out" | grep -q "ams-test-password"; then
  fail "check-config printed the password"
fi

finish
