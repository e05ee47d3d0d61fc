#!/usr/bin/env bash
# usage: run_proxy.sh <litellm-bin> <port> <num_workers> <log> [extra args...]
# starts the proxy in its own session (setsid) and waits for /health/liveliness
set -u
BIN=$1; PORT=$2; NW=$3; LOG=$4; shift 4
cd "$(dirname "$0")"
export LITELLM_LOCAL_MODEL_COST_MAP=True
T0=$(date +%s.%N)
setsid "$BIN" --config "${CONFIG:-config.yaml}" --port "$PORT" --num_workers "$NW" "$@" >"$LOG" 2>&1 &
echo $! > "$LOG.pid"
for i in $(seq 1 480); do
  if curl -sf "http://127.0.0.1:$PORT/health/liveliness" >/dev/null; then
    echo "ready after $(echo "$(date +%s.%N)-$T0" | bc)s (master pid $(cat "$LOG.pid"))"; exit 0; fi
  kill -0 "$(cat "$LOG.pid")" 2>/dev/null || { echo "proxy died"; tail -20 "$LOG"; exit 1; }
  sleep 0.25
done
echo "timeout"; exit 1
