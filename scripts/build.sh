#!/usr/bin/env bash
# Builds drip into ${DRIP_BUILD_DIR:-build}; extra CMake arguments come from
# DRIP_CMAKE_ARGS (for example -DDRIP_SANITIZE=ON).
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${DRIP_BUILD_DIR:-build}
read -r -a cmake_args <<<"${DRIP_CMAKE_ARGS:-}"
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="${DRIP_BUILD_TYPE:-RelWithDebInfo}" \
  "${cmake_args[@]}" >/dev/null
cmake --build "$build_dir" -j"$(nproc)"
