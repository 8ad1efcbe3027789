#!/usr/bin/env bash
# schema_engines_test: loads sql/{postgres,mysql,derby}/ha_lease.sql into
# real PostgreSQL, MariaDB and Apache Derby servers and checks the resulting
# columns (type, nullability, default), primary key and indexes against
# Amoro's ha_lease. PostgreSQL and MariaDB load the file twice (it must be
# re-runnable); Derby loads it once and must refuse a second run with X0Y32,
# as the file's comment says.
#
# Each server is throwaway: its own temp directory, socket and port, stopped
# and removed on exit. As root, PostgreSQL runs as `postgres` (via pgtmp) and
# MariaDB as `mysql`; as another user, both run as that user.
set -euo pipefail

root=${AMS_HA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
sql=$root/sql
# Every engine or none: a missing one skips the test with how to install it
# (a failure under CI, tests/support/cannot_run.sh).
. "$root/tests/support/cannot_run.sh"
command -v mariadbd >/dev/null || cannot_run "mariadbd" "apt-get install mariadb-server (scripts/install-deps.sh)"
command -v java >/dev/null || cannot_run "java" "apt-get install default-jre-headless (scripts/install-deps.sh)"
[ -f /usr/share/java/derby.jar ] || cannot_run "derby.jar" "apt-get install derby-tools (scripts/install-deps.sh)"
work=$(mktemp -d "${TMPDIR:-/tmp}/ams-schema-XXXXXX")
# The server users must be able to reach their directories below $work.
chmod 755 "$work"
failures=0

cleanup() {
  set +e
  if [ -n "${pg_dir:-}" ]; then "$root/tests/support/pgtmp" stop "$pg_dir" >/dev/null 2>&1; fi
  if [ -n "${maria_pid:-}" ] && kill -0 "$maria_pid" 2>/dev/null; then
    kill "$maria_pid"
    for _ in $(seq 100); do kill -0 "$maria_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$maria_pid" 2>/dev/null
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# compare ENGINE WHAT EXPECTED ACTUAL: both are lines "key|field|field...";
# reports every key whose line differs, is missing or is unexpected.
compare() {
  local engine=$1 what=$2 expected=$3 actual=$4 line key got
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    key=${line%%|*}
    got=$(printf '%s\n' "$actual" | grep -m1 "^${key}|" || true)
    if [ -z "$got" ]; then
      fail "$engine: $what '$key' is missing (expected '$line')"
    elif [ "$got" != "$line" ]; then
      fail "$engine: $what '$key' is '$got', expected '$line'"
    fi
  done <<<"$expected"
  while IFS= read -r line; do
    [ -n "$line" ] || continue
    key=${line%%|*}
    printf '%s\n' "$expected" | grep -q "^${key}|" || fail "$engine: unexpected $what '$line'"
  done <<<"$actual"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- PostgreSQL 15 -----------------------------------------------------------
check_postgres() {
  pg_dir=$work/pg
  local port out psql
  port=$(free_port)
  out=$("$root/tests/support/pgtmp" start "$pg_dir" "$port")
  # The owner role over the trusted Unix socket: the table belongs to `ams`,
  # as it does when init-schema runs with the controller's credentials.
  psql=(psql "host=$pg_dir/run port=$port dbname=amsha user=ams" -X -q -v ON_ERROR_STOP=1)
  for run in 1 2; do
    "${psql[@]}" -f "$sql/postgres/ha_lease.sql" >"$work/pg-load-$run.log" 2>&1 ||
      { cat "$work/pg-load-$run.log" >&2; fail "postgres: loading ha_lease.sql (run $run) failed"; return; }
  done
  local columns indexes
  columns=$("${psql[@]}" -At -F '|' -c "
    SELECT column_name,
           data_type || COALESCE('(' || character_maximum_length || ')', ''),
           is_nullable, COALESCE(column_default, 'NULL')
    FROM information_schema.columns
    WHERE table_schema = 'public' AND table_name = 'ha_lease'
    ORDER BY ordinal_position")
  indexes=$("${psql[@]}" -At -F '|' -c "
    SELECT CASE WHEN i.indisprimary THEN 'PRIMARY' ELSE c.relname END,
           CASE WHEN i.indisunique THEN 'unique' ELSE 'non-unique' END,
           string_agg(a.attname, ',' ORDER BY array_position(i.indkey::int2[], a.attnum))
    FROM pg_index i
    JOIN pg_class c ON c.oid = i.indexrelid
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
    WHERE i.indrelid = 'public.ha_lease'::regclass
    GROUP BY 1, 2 ORDER BY 1")
  compare postgres column "cluster_name|character varying(64)|NO|NULL
service_name|character varying(64)|NO|NULL
node_id|character varying(256)|YES|NULL
node_ip|character varying(64)|YES|NULL
server_info_json|text|YES|NULL
lease_expire_ts|bigint|YES|NULL
version|integer|NO|0
updated_at|bigint|NO|NULL" "$columns"
  compare postgres index "PRIMARY|unique|cluster_name,service_name
idx_ha_lease_expire|non-unique|lease_expire_ts
idx_ha_lease_node|non-unique|node_id" "$indexes"
  echo "postgres: loaded twice and compared"
}

# --- MariaDB -----------------------------------------------------------------
check_mariadb() {
  command -v mariadbd >/dev/null || { fail "mariadb: mariadbd not found (apt-get install mariadb-server)"; return; }
  local dir=$work/maria user_flag=()
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then
    # mariadbd refuses root; with --user it switches to `mysql` itself, so
    # $maria_pid is the server and a TERM stops it cleanly.
    chown mysql: "$dir"
    user_flag=(--user=mysql)
  fi
  mariadb-install-db --no-defaults --datadir="$dir/data" "${user_flag[@]}" \
    --auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
    { cat "$dir/install.log" >&2; fail "mariadb: mariadb-install-db failed"; return; }
  mariadbd --no-defaults --datadir="$dir/data" --socket="$dir/mysqld.sock" "${user_flag[@]}" \
    --skip-networking --pid-file="$dir/mysqld.pid" --log-error="$dir/error.log" 2>"$dir/stderr.log" &
  maria_pid=$!
  local client=(mariadb --no-defaults --socket="$dir/mysqld.sock" -u root)
  for _ in $(seq 150); do
    mariadb-admin --no-defaults --socket="$dir/mysqld.sock" -u root ping >/dev/null 2>&1 && break
    kill -0 "$maria_pid" 2>/dev/null || break
    sleep 0.1
  done
  "${client[@]}" -e "CREATE DATABASE amsha" ||
    { tail -20 "$dir/error.log" >&2; fail "mariadb: server did not start"; return; }
  for run in 1 2; do
    "${client[@]}" amsha <"$sql/mysql/ha_lease.sql" ||
      { fail "mariadb: loading ha_lease.sql (run $run) failed"; return; }
  done
  local columns indexes
  # TEXT reports its byte limit as a length; only the type name matters there.
  columns=$("${client[@]}" -B -N -e "
    SELECT CONCAT_WS('|', COLUMN_NAME,
             CONCAT(DATA_TYPE, IF(DATA_TYPE = 'varchar', CONCAT('(', CHARACTER_MAXIMUM_LENGTH, ')'), '')),
             IS_NULLABLE, IFNULL(COLUMN_DEFAULT, 'NULL'))
    FROM information_schema.COLUMNS
    WHERE TABLE_SCHEMA = 'amsha' AND TABLE_NAME = 'ha_lease'
    ORDER BY ORDINAL_POSITION")
  indexes=$("${client[@]}" -B -N -e "
    SELECT CONCAT_WS('|', INDEX_NAME, IF(NON_UNIQUE = 0, 'unique', 'non-unique'),
             GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX SEPARATOR ','))
    FROM information_schema.STATISTICS
    WHERE TABLE_SCHEMA = 'amsha' AND TABLE_NAME = 'ha_lease'
    GROUP BY INDEX_NAME, NON_UNIQUE ORDER BY INDEX_NAME")
  compare mariadb column "cluster_name|varchar(64)|NO|NULL
service_name|varchar(64)|NO|NULL
node_id|varchar(256)|YES|NULL
node_ip|varchar(64)|YES|NULL
server_info_json|text|YES|NULL
lease_expire_ts|bigint|YES|NULL
version|int|NO|0
updated_at|bigint|NO|NULL" "$columns"
  compare mariadb index "PRIMARY|unique|cluster_name,service_name
idx_ha_lease_expire|non-unique|lease_expire_ts
idx_ha_lease_node|non-unique|node_id" "$indexes"
  echo "mariadb: loaded twice and compared"
}

# --- Apache Derby (embedded, through ij) -------------------------------------
check_derby() {
  command -v java >/dev/null || { fail "derby: java not found (apt-get install default-jre-headless)"; return; }
  local jars=/usr/share/java/derby.jar:/usr/share/java/derbytools.jar
  [ -f /usr/share/java/derby.jar ] || { fail "derby: derby.jar not found (apt-get install derby-tools)"; return; }
  local dir=$work/derby
  mkdir -p "$dir"
  # Columns, key and indexes as JDBC's DatabaseMetaData sees them (the
  # SYSIBM procedures behind getColumns, getPrimaryKeys and getIndexInfo).
  cat >"$dir/check.sql" <<EOF
connect 'jdbc:derby:$dir/db;create=true';
run '$sql/derby/ha_lease.sql';
values 'MARK-SECOND-RUN';
run '$sql/derby/ha_lease.sql';
values 'MARK-COLUMNS';
CALL SYSIBM.SQLCOLUMNS(NULL, 'APP', 'HA_LEASE', NULL, NULL);
values 'MARK-PRIMARY-KEY';
CALL SYSIBM.SQLPRIMARYKEYS(NULL, 'APP', 'HA_LEASE', NULL);
values 'MARK-INDEXES';
CALL SYSIBM.SQLSTATISTICS(NULL, 'APP', 'HA_LEASE', 1, 1, NULL);
values 'MARK-END';
EOF
  local out
  out=$(java -Dderby.system.home="$dir" -Dderby.stream.error.file="$dir/derby.log" \
    -cp "$jars" org.apache.derby.tools.ij "$dir/check.sql" 2>&1) ||
    { printf '%s\n' "$out" >&2; fail "derby: ij failed"; return; }
  # section FROM TO: the result rows of HA_LEASE between two markers, with
  # ij's column padding removed ("|APP|HA_LEASE|CLUSTER_NAME|12|VARCHAR|...").
  section() {
    printf '%s\n' "$out" | sed -n "/$1/,/$2/p" | grep '|APP *|HA_LEASE *|' | sed 's/ *| */|/g; s/^ *//'
  }
  if printf '%s\n' "$out" | sed -n '1,/MARK-SECOND-RUN/p' | grep -q 'ERROR'; then
    printf '%s\n' "$out" >&2
    fail "derby: loading ha_lease.sql failed"
    return
  fi
  printf '%s\n' "$out" | sed -n '/MARK-SECOND-RUN/,/MARK-COLUMNS/p' | grep -q 'X0Y32' ||
    fail "derby: a second run did not fail with X0Y32 as sql/derby/ha_lease.sql documents"
  # SQLCOLUMNS fields: 4 COLUMN_NAME, 6 TYPE_NAME, 7 COLUMN_SIZE, 13 COLUMN_DEF, 18 IS_NULLABLE.
  local columns pk indexes
  columns=$(section MARK-COLUMNS MARK-PRIMARY-KEY | awk -F'|' '{
      type = ($6 == "VARCHAR") ? $6 "(" $7 ")" : $6;
      print tolower($4) "|" type "|" $18 "|" $13 }')
  # SQLPRIMARYKEYS fields: 4 COLUMN_NAME, 5 KEY_SEQ.
  pk=$(section MARK-PRIMARY-KEY MARK-INDEXES | sort -t'|' -k5,5n | awk -F'|' '
      { list = list (NR > 1 ? "," : "") tolower($4) } END { if (NR) print "PRIMARY|unique|" list }')
  # SQLSTATISTICS (ODBC: 1 = all indexes, not only unique) fields: 4 NON_UNIQUE, 6 INDEX_NAME, 8 ORDINAL_POSITION, 9
  # COLUMN_NAME. Derby names the primary key's own index SQL<timestamp>: it
  # is checked above as PRIMARY.
  indexes=$(section MARK-INDEXES MARK-END | sort -t'|' -k6,6 -k8,8n | awk -F'|' '
      $6 !~ /^SQL[0-9]/ {
        name = tolower($6); kind = ($4 == "false") ? "unique" : "non-unique";
        if (name != last) { if (last != "") print line; line = name "|" kind "|" tolower($9); last = name }
        else line = line "," tolower($9) }
      END { if (last != "") print line }')
  indexes=$(printf '%s\n%s\n' "$pk" "$indexes" | grep -v '^$' || true)
  compare derby column "cluster_name|VARCHAR(64)|NO|NULL
service_name|VARCHAR(64)|NO|NULL
node_id|VARCHAR(256)|YES|NULL
node_ip|VARCHAR(64)|YES|NULL
server_info_json|VARCHAR(32672)|YES|NULL
lease_expire_ts|BIGINT|YES|NULL
version|INTEGER|NO|0
updated_at|BIGINT|NO|NULL" "$columns"
  compare derby index "PRIMARY|unique|cluster_name,service_name
idx_ha_lease_expire|non-unique|lease_expire_ts
idx_ha_lease_node|non-unique|node_id" "$indexes"
  echo "derby: loaded (second run refused) and compared"
}

check_postgres
check_mariadb
check_derby

if [ "$failures" -gt 0 ]; then
  echo "schema_engines_test: $failures failure(s)" >&2
  exit 1
fi
echo "schema_engines_test: PostgreSQL, MariaDB and Derby match Amoro's ha_lease"
