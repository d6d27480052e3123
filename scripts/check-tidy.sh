#!/usr/bin/env bash
# Runs clang-tidy 14 with the checked-in .clang-tidy over drip's sources,
# one file per core at a time, using the build's compile_commands.json.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${DRIP_BUILD_DIR:-build}
[ -f "$build_dir/compile_commands.json" ] || bash scripts/build.sh
# Boost 1.74's Asio looks for coroutines only in <experimental/coroutine>
# when compiled by clang; clang 14 with libstdc++ 12 has them in
# <coroutine>, so tell Asio directly.
git ls-files 'src/*.cc' | xargs -P "$(nproc)" -n 1 \
  clang-tidy -p "$build_dir" --quiet \
  --extra-arg=-DBOOST_ASIO_HAS_CO_AWAIT \
  --extra-arg=-DBOOST_ASIO_HAS_STD_COROUTINE 2>/dev/null
