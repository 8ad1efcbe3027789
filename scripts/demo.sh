#!/usr/bin/env bash
# The local demo: installs what is missing, builds, then runs two controller
# replicas against a throwaway PostgreSQL (or MariaDB) and the Kubernetes API
# stand-in with three simulated AMS pods, and fails the leader over while you
# watch.
#
#   scripts/demo.sh            run the demo, then clean up
#   scripts/demo.sh --keep     leave everything running (Ctrl-C to stop)
#   scripts/demo.sh --mysql    the same with the lease in MariaDB (mysql://)
#                              instead of PostgreSQL; combines with --keep
#
# Everything lives in .demo/ (logs, kubeconfig, database) and listens on
# loopback addresses only.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
keep=0
engine=postgres
for arg in "$@"; do
  case "$arg" in
    --keep) keep=1 ;;
    --mysql) engine=mysql ;;
    *) echo "usage: scripts/demo.sh [--keep] [--mysql]" >&2; exit 2 ;;
  esac
done
build=${AMS_HA_BUILD_DIR:-$root/build}
demo=$root/.demo

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

say "installing missing packages"
scripts/install-deps.sh
say "building"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target ams-ha-controller kube-standin fake-ams

ctl=$build/controller/ams-ha-controller
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  tests/support/pgtmp stop "$demo/pg" >/dev/null 2>&1 || true
  tests/support/mariadbtmp stop "$demo/maria" >/dev/null 2>&1 || true
}
trap cleanup EXIT
pkill -f "$demo/" 2>/dev/null || true
rm -rf "$demo"
mkdir -p "$demo"

free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }

db_port=$(free_port)
if [ "$engine" = mysql ]; then
  say "starting a throwaway MariaDB"
  tests/support/mariadbtmp start "$demo/maria" "$db_port" >"$demo/maria.txt"
  db_url=mysql://ams@127.0.0.1:$db_port/amsha
else
  say "starting a throwaway PostgreSQL"
  tests/support/pgtmp start "$demo/pg" "$db_port" >"$demo/pg.txt"
  db_url=postgresql://ams@127.0.0.1:$db_port/amsha
fi
export AMS_HA_DB_PASSWORD=ams-test-password

say "starting the Kubernetes API stand-in"
"$build/tests/standin/kube-standin" --port 0 --admin-port 0 --tls --dir "$demo/kube" \
  --namespace ams >"$demo/standin.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q '^ready' "$demo/standin.log" 2>/dev/null && break; sleep 0.1; done
ready=$(grep '^ready' "$demo/standin.log")
api=$(sed 's/.*api=\([^ ]*\).*/\1/' <<<"$ready")
admin=$(sed 's/.*admin=\([^ ]*\).*/\1/' <<<"$ready")
token=$(sed 's/.*token=\([^ ]*\).*/\1/' <<<"$ready")
kubeconfig=$(sed 's/.*kubeconfig=\([^ ]*\).*/\1/' <<<"$ready")
echo "API server stand-in: $api (kubeconfig $kubeconfig)"

kube() {  # kube METHOD PATH [BODY]
  curl -sS --fail --cacert "$demo/kube/ca.crt" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -X "$1" "$api$2" ${3:+-d "$3"} >/dev/null
}

say "creating the ams-leader Service and three AMS pods (ams-0..2), each with a fake AMS"
kube POST /api/v1/namespaces/ams/services '{"apiVersion":"v1","kind":"Service","metadata":{"name":"ams-leader"},"spec":{"selector":{"amoro.apache.org/ha-role":"leader","amoro.apache.org/ha-pod":"None"},"ports":[{"name":"rest","port":1630,"targetPort":1630}]}}'
for i in 0 1 2; do
  ip=127.0.0.$((30 + i))
  curl -sS --fail -X POST "$admin/admin/pods" -d "{\"namespace\":\"ams\",\"name\":\"ams-$i\",\"labels\":{\"app.kubernetes.io/name\":\"amoro\"},\"podIP\":\"$ip\",\"ready\":true,\"ports\":[{\"name\":\"rest\",\"containerPort\":1630}]}" >/dev/null
  "$build/tests/fake-ams" --name "ams-$i" --listen "$ip:1630" >"$demo/ams-$i.log" 2>&1 &
  pids+=($!)
done

cat >"$demo/controller.yaml" <<YAML
kubernetes:
  kubeconfig: $kubeconfig
  namespace: ams
database:
  url: $db_url
controller:
  leaseDuration: 15s
  renewDeadline: 10s
  retryPeriod: 2s
metrics:
  address: 127.0.0.1:0
clusters:
  - name: demo
    podSelector: app.kubernetes.io/name=amoro
    notReadyGracePeriod: 2s
YAML
say "creating the ha_lease table"
"$ctl" init-schema --config "$demo/controller.yaml"

say "starting two controller replicas (ctl-0, ctl-1)"
for i in 0 1; do
  POD_NAME=ctl-$i "$ctl" run --config "$demo/controller.yaml" >"$demo/ctl-$i.log" 2>&1 &
  pids+=($!)
done

forward_port() {
  curl -sS "$admin/admin/forwards" | python3 -c 'import json,sys
for f in json.load(sys.stdin):
    if f["service"]=="ams-leader" and f["port"]==1630: print(f["localPort"])'
}
ask() { python3 - "$1" <<'PY'
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
    print(s.recv(64).decode().strip() or "(nobody)")
except OSError:
    print("(nobody)")
PY
}
leader() { "$ctl" status --config "$demo/controller.yaml" --output json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["clusters"][0]["leader"] or "")'; }

for _ in $(seq 100); do [ -n "$(leader)" ] && break; sleep 0.2; done
fport=$(forward_port)
say "status"
"$ctl" status --config "$demo/controller.yaml"
old=$(leader)
echo
echo "A client connecting through ams-leader (127.0.0.1:$fport) reaches: $(ask "$fport")"

say "deleting the leader pod $old (as 'kubectl delete pod $old' would)"
start=$(date +%s%N)
curl -sS --fail -X DELETE "$admin/admin/pods/ams/$old?gracePeriodSeconds=5" >/dev/null
new=""
while :; do
  answer=$(ask "$fport")
  if [ "$answer" != "(nobody)" ] && [ "$answer" != "$old" ]; then new=$answer; break; fi
  [ $(( ($(date +%s%N) - start) / 1000000 )) -gt 30000 ] && break
done
took=$(( ($(date +%s%N) - start) / 1000000 ))
echo "New leader answering through ams-leader: ${new:-none} after ${took} ms"
say "status after the failover"
"$ctl" status --config "$demo/controller.yaml"
say "what the controllers logged"
grep -h "leader elected\|active controller" "$demo"/ctl-*.log | sort

if [ "$keep" = 1 ]; then
  echo
  echo "Everything keeps running. Try: $ctl status --config $demo/controller.yaml"
  echo "  kubectl --kubeconfig $kubeconfig get pods -L amoro.apache.org/ha-role   (with .tools/bin/kubectl)"
  echo "Press Ctrl-C to stop."
  wait
fi
