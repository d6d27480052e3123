#!/usr/bin/env bash
# Brings drip up on this machine: installs what is missing, builds, starts a
# private redis-server (unless DRIP_REDIS_URL names one), then `drip serve`
# and `drip consume` in the background. Everything lands in ./run/.
# Stop it all with scripts/down.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
bash scripts/install-deps.sh
DRIP_BUILD_TYPE=Release bash scripts/build.sh
drip=$top/build/drip
run=$top/run
mkdir -p "$run"
bash scripts/down.sh >/dev/null 2>&1 || true

if [ -z "${DRIP_REDIS_URL:-}" ]; then
  port=${DRIP_REDIS_PORT:-6390}
  # AOF with an fsync before every reply: a 202 then survives a restart of
  # Redis, which is what drip promises.
  redis-server --port "$port" --bind 127.0.0.1 --dir "$run" \
    --appendonly yes --appendfsync always --save '' \
    --maxmemory-policy noeviction --daemonize yes \
    --pidfile "$run/redis.pid" --logfile "$run/redis.log"
  export DRIP_REDIS_URL="redis://127.0.0.1:$port/0"
  for _ in $(seq 50); do
    redis-cli -p "$port" ping >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

nohup "$drip" serve >"$run/serve.log" 2>&1 &
echo $! >"$run/serve.pid"
nohup "$drip" consume --log-file "$run/processed.log" \
  >"$run/consume.log" 2>&1 &
echo $! >"$run/consume.pid"

port=${DRIP_PORT:-8000}
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$port/readyz" >/dev/null || {
  echo "drip did not come up; see $run/serve.log" >&2
  exit 1
}

cat <<TEXT
drip is up.
  API        http://127.0.0.1:$port   (stats: curl http://127.0.0.1:$port/stats)
  Redis      $DRIP_REDIS_URL
  processed  $run/processed.log   (tail -f it to watch the leak)
  logs       $run/serve.log  $run/consume.log
Try:
  curl -X POST http://127.0.0.1:$port/enqueue -H 'Content-Type: application/json' \\
    -d '{"id": 1, "job_priority": 1, "job_type": 2, "job_publisher": "mobile_app", "data": "this is my message from mobile app"}'
Stop with: bash scripts/down.sh
TEXT
