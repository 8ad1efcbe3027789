#!/usr/bin/env bash
# Installs what building, testing and the demo need on Debian 12, skipping
# what is already there. Safe to run again. Needs root (or sudo) only when
# something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format git ca-certificates openssl
  libcpprest-dev libboost-all-dev libssl-dev libpqxx-dev libpq-dev libmariadb-dev libyaml-cpp-dev prometheus-cpp-dev libcivetweb-dev
  libgtest-dev libgmock-dev
  postgresql postgresql-client
  mariadb-server mariadb-client derby-tools default-jre-headless faketime
  unzip curl procps iproute2 python3
  prometheus python3-yaml
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node.js brings npm, which fetches kubectl and helm (see scripts/kube-tools.sh);
# a machine may already have its own Node.js outside dpkg.
command -v npm >/dev/null || missing+=(nodejs npm)

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  # Debian's postgresql, mariadb and prometheus packages try to start system services;
  # on machines without an init system that fails harmlessly.
  $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
