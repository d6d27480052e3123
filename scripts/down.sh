#!/usr/bin/env bash
# Stops what scripts/up.sh started: drip first (they drain and exit), then
# the private redis-server.
set -uo pipefail
cd "$(dirname "$0")/.."
run=$PWD/run
for name in serve consume redis; do
  pidfile=$run/$name.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -f "$pidfile"
done
echo "stopped"
