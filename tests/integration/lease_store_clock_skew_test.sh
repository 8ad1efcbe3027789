#!/usr/bin/env bash
# lease_store_clock_skew_test: runs the lease store integration binary
# (sql_lease_store_test: PostgresLeaseStore and MysqlLeaseStore) with the
# test process's wall clock one hour ahead and one hour behind (libfaketime),
# while its PostgreSQL and MariaDB keep the real clock. Every
# outcome (acquire, renew, expiry, hand-over, the 16-connection race) must be
# unchanged, because the store never reads the client's clock.
#
# ProcessClockIsSkewedExactlyAsTheRunRequires asserts that the process clock
# really is AMS_HA_EXPECTED_CLOCK_SKEW_MS off the database's, so the run
# cannot pass with the fake clock silently not in effect (or leaking into the
# server). Monotonic time is left alone (FAKETIME_DONT_FAKE_MONOTONIC): it
# has no epoch to skew, and timed waits must stay real.
set -euo pipefail

bin=${AMS_HA_BINARY_DIR:?AMS_HA_BINARY_DIR is set by ctest}/tests/integration_sql_lease_store_test
[ -x "$bin" ] || { echo "lease_store_clock_skew_test: $bin is not built" >&2; exit 1; }
. "$(cd "$(dirname "$0")/../.." && pwd)/tests/support/cannot_run.sh"
command -v faketime >/dev/null || cannot_run "faketime" "apt-get install faketime (scripts/install-deps.sh)"

for skew in +1h -1h; do
  case "$skew" in
    +1h) skew_ms=3600000 ;;
    -1h) skew_ms=-3600000 ;;
  esac
  echo "== $(basename "$bin"): process clock $skew from the database's"
  # Amoro's own statements stamp times with the client's clock, as Amoro
  # does, so they are meaningless under skew: they live in
  # amoro_interop_test, and the filter keeps any that come here out.
  AMS_HA_EXPECTED_CLOCK_SKEW_MS=$skew_ms FAKETIME_DONT_FAKE_MONOTONIC=1 \
    faketime -f "$skew" "$bin" --gtest_brief=1 --gtest_filter='-*Ams*' ||
    { echo "lease_store_clock_skew_test: $(basename "$bin") outcomes changed with the client clock at $skew" >&2; exit 1; }
done
echo "lease_store_clock_skew_test: same outcomes at +1h and -1h on PostgreSQL and MariaDB"
