#!/usr/bin/env bash
# The Helm chart checks of scripts/check-chart.sh, as a test: lint, renders
# validated against the Kubernetes schemas, least-privilege RBAC, every
# bad-values case rejected with its message, rendered configs accepted by
# `ams-ha-controller check-config`, and no drift in manifests/.
# Skipped (77) only when helm or Node.js cannot be installed on this machine.
set -uo pipefail
source_dir=${AMS_HA_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
"$source_dir/scripts/check-chart.sh"
status=$?
[ "$status" = 3 ] && exit 77
exit "$status"
