#!/usr/bin/env bash
# Builds the libFuzzer targets with clang into build-fuzz and runs each for
# ${DRIP_FUZZ_SECONDS:-20} seconds on a copy of its seed corpus
# (fuzz/corpus/NAME). Exits 1 when any target crashes, times out or runs
# out of memory; the input that did it is left in
# build-fuzz/fuzz-artifacts/NAME/ and the run's output in
# build-fuzz/fuzz-NAME.out.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=build-fuzz
seconds=${DRIP_FUZZ_SECONDS:-20}
targets=(message dotenv redis_url)

CC=clang CXX=clang++ cmake -S . -B "$build_dir" -DDRIP_FUZZ=ON \
  -DDRIP_BENCH=OFF >/dev/null
cmake --build "$build_dir" -j"$(nproc)" \
  --target "${targets[@]/#/fuzz_}"

status=0
for name in "${targets[@]}"; do
  # The fuzzer adds what it finds to the corpus directory: keep the seeds
  # in the repository as they are.
  work=$build_dir/fuzz-corpus/$name
  artifacts=$build_dir/fuzz-artifacts/$name
  output=$build_dir/fuzz-$name.out
  rm -rf "$work" "$artifacts"
  mkdir -p "$work" "$artifacts"
  cp fuzz/corpus/"$name"/* "$work"/
  echo "fuzz_$name: ${seconds}s"
  if "$build_dir/fuzz_$name" -max_total_time="$seconds" -timeout=25 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" \
      >"$output" 2>&1; then
    grep -E '^stat::number_of_executed_units' "$output" || true
  else
    echo "fuzz_$name: FAILED (exit $?); output in $output," \
      "inputs in $artifacts/" >&2
    tail -n 30 "$output" >&2
    status=1
  fi
done
exit "$status"
