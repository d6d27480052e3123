#!/usr/bin/env bash
# Installs, from Debian 12's packages, what drip needs to build, run and be
# tested. Installs only what is missing, so a second run takes a second.
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  libboost-dev libssl-dev libhiredis-dev libsimdjson-dev libfmt-dev
  libspdlog-dev libcli11-dev libgtest-dev libgmock-dev libbenchmark-dev
  libmimalloc-dev
  redis-server redis-tools python3 curl openssl
  chromium  # headless, for the pages test (test_dashboard.py)
  clang clang-format clang-tidy libclang-rt-14-dev
)
if [ "${DRIP_EXTRA_PACKAGES:-}" ]; then
  read -r -a extra <<<"$DRIP_EXTRA_PACKAGES"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
# Debian's redis-server package may start a system-wide server on 6379;
# drip's scripts and tests start private servers and never rely on it.
