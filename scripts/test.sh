#!/usr/bin/env bash
# Runs every test: installs what is missing, builds, then runs the unit
# tests and the integration tests (which start their own redis-server on a
# free port and real drip processes) under ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
build_dir=${DRIP_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure -j"$(nproc)" "$@"
