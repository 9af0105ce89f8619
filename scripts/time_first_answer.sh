#!/usr/bin/env bash
# How long a fresh clone's `make run` takes to its first answer (README, "How long it takes").
#
#   bash scripts/time_first_answer.sh [REPO]      (REPO: a path or URL; default this repository)
#
# Clones REPO into a temporary directory, starts `make run` there (venvs, .env, database,
# pipeline, training, then the three processes), and polls until the web chat answers a
# message through the API and Rasa (status "relayed", not the safe answer). Prints the
# seconds from `make run` to that answer, then stops everything. Needs ports 8000, 5005 and
# 5055 free. pip's download cache is used as on any developer machine.
set -euo pipefail
repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
work=$(mktemp -d)
trap 'kill -- -$pid 2>/dev/null || true; sleep 2; rm -rf "$work"' EXIT
for port in 8000 5005 5055; do
  if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then echo "port $port is in use: stop what listens there" >&2; exit 1; fi
done
git clone -q "$repo" "$work/clone"
cd "$work/clone"
start=$(date +%s)
setsid make run > "$work/run.log" 2>&1 &
pid=$!
answer() {
  curl -s -m 30 -H 'Content-Type: application/json' -d '{"text": "hello", "client_id": "first-answer-'"$1"'"}' \
    http://127.0.0.1:8000/chat/messages 2>/dev/null | grep -o '"status":"[a-z_]*"' || true
}
tries=0
while :; do
  if ! kill -0 $pid 2>/dev/null; then echo "make run stopped:" >&2; tail -30 "$work/run.log" >&2; exit 1; fi
  # Ask through the API only once Rasa answers on its own: a safe answer would open a case.
  if curl -s -m 10 -H 'Content-Type: application/json' -d '{"sender": "first-answer", "message": "hello"}' \
      http://127.0.0.1:5005/webhooks/rest/webhook 2>/dev/null | grep -q '"text"'; then
    tries=$((tries + 1))
    status=$(answer "$tries")
    if [ "$status" = '"status":"relayed"' ]; then break; fi
  fi
  sleep 2
done
elapsed=$(( $(date +%s) - start ))
echo "make run, fresh clone of $repo: first answer through /chat after ${elapsed}s ($(nproc) cores, $(date -u +%F))"
grep -E "Finished training|No training needed|train" "$work/run.log" | tail -3 || true
