#!/usr/bin/env bash
# gate_cli_test: `ams-ha-controller gate` refuses to start, with exit code 2
# and one line naming the fix, for every mistake it can see before touching
# the database: no --cluster, an unknown cluster, a follow-mode cluster, no
# AMS command, an AMS command that does not exist, missing downward-API
# variables, an invalid gate section. Needs only the built binary.
set -euo pipefail

bin=${AMS_HA_BINARY_DIR:?set AMS_HA_BINARY_DIR to the build tree}/controller/ams-ha-controller
work=$(mktemp -d "${TMPDIR:-/tmp}/ams-gate-cli-XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0

cat >"$work/config.yaml" <<'EOF'
database:
  url: postgresql://ams@127.0.0.1:1/amsha
gate:
  pollInterval: 1s
clusters:
  - name: prod
    podSelector: app=amoro
  - name: legacy
    podSelector: app=legacy
    service: legacy-leader
    mode: follow
EOF
cat >"$work/bad-gate.yaml" <<'EOF'
database:
  url: postgresql://ams@127.0.0.1:1/amsha
gate:
  safetyMargin: 15s
  pollInterval: 10s
clusters:
  - name: prod
    podSelector: app=amoro
EOF

# expect CODE TEXT -- ARGS...: runs the gate with the pod's variables set
# unless ARGS start with `env -u ...`, and checks the exit code and output.
expect() {
  local code=$1 text=$2
  shift 3
  local out rc=0
  out=$(POD_NAME=ams-0 POD_UID=uid-0 POD_IP=127.0.0.1 "$@" 2>&1) || rc=$?
  if [ "$rc" != "$code" ] || [[ "$out" != *"$text"* ]]; then
    echo "FAIL: $* -> exit $rc, expected $code and \"$text\"; got:"
    echo "$out"
    failures=$((failures + 1))
  else
    echo "ok: exit $rc: $text"
  fi
}

cfg=$work/config.yaml
expect 2 "--cluster NAME is required" -- "$bin" gate --config "$cfg" -- /bin/true
expect 2 "cluster \"nope\" is not in" -- "$bin" gate --config "$cfg" --cluster nope -- /bin/true
expect 2 "is in follow mode: AMS elects itself there" -- \
  "$bin" gate --config "$cfg" --cluster legacy -- /bin/true
expect 2 "give the AMS command after --" -- "$bin" gate --config "$cfg" --cluster prod
expect 2 "AMS command no-such-ams-start not found in \$PATH" -- \
  "$bin" gate --config "$cfg" --cluster prod -- no-such-ams-start
expect 2 "POD_UID, POD_IP not set: pass metadata.name, metadata.uid and status.podIP" -- \
  env -u POD_UID -u POD_IP "$bin" gate --config "$cfg" --cluster prod -- /bin/true
expect 2 "gate.safetyMargin: (15s) + gate.pollInterval (10s) must be shorter than" -- \
  "$bin" gate --config "$work/bad-gate.yaml" --cluster prod -- /bin/true
expect 0 "gate         --config FILE --cluster NAME -- AMS-COMMAND" -- "$bin" --help

if [ "$failures" -gt 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all gate CLI checks passed"
