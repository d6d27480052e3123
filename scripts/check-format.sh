#!/usr/bin/env bash
# Fails when a C++ file differs from what clang-format 14 would write.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files '*.cc' '*.h' | xargs clang-format --dry-run --Werror
