#!/usr/bin/env bash
# Install the Debian packages statestore builds and tests with.
# Runs as root (or with sudo); skips apt when everything is present.
set -euo pipefail
pkgs=(build-essential cmake pkg-config liblz4-dev libzstd-dev libxxhash-dev
      librocksdb-dev
      clang)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi
