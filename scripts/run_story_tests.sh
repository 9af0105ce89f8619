#!/usr/bin/env bash
# Conversation tests for the Rasa assistant.
#
#  1. Train if needed (fingerprinted by scripts/train_if_changed.py).
#  2. `rasa test core --fail-on-prediction-errors` on tests/stories and
#     tests/stories_api_down (the dialogue policy); STORY_E2E=1 also runs them with --e2e.
#     That is opt-in: a form's free-text answers ("3 days a week") are read by the form's
#     own extraction, whatever intent the classifier gives them, so pinning their intent
#     makes the check fail on harmless NLU changes. Intents are gated by the held-out NLU
#     report (make nlu) and real text end to end by step 3. rasa test core replays each
#     story's events and never calls the action server, so the action code is exercised
#     in step 3.
#  3. Live conversations through the REST channel with a real action server:
#     a. the API unreachable (HELPLINE_API_URL = a closed port):
#        tests/stories_api_down/live_conversations.yml;
#     b. the API up: every tests/stories/live_*.yml. When HELPLINE_API_URL is
#        unset, the API is started here on a free port with a temporary SQLite
#        database (alembic upgrade head + demo seed), relaying to this Rasa, with a test
#        TWILIO_AUTH_TOKEN, PUBLIC_BASE_URL = its own address, no Twilio account (nothing
#        is sent out) and RASA_TIMEOUT_SECONDS=$LIVE_RASA_TIMEOUT (default 30, so a slow
#        Rasa on a busy machine is not taken for a dead one). Conversations marked
#        `channels: [rest, sms]` then also run through its signed POST /twilio/sms, and those
#        marked `voice` as calls through its signed voice webhook (TwiML parsed and checked:
#        tests/support/twilio_voice.py). An API given by HELPLINE_API_URL is not ours to
#        configure: the sms and voice runs are skipped.
#     The file format is at the top of tests/stories_api_down/live_check.py. Turns marked
#     `decides` are written to reports/decisive-facts.md (and .json), rewritten by each run
#     of this script; a decisive turn whose reply lacks the outcome fails the build.
#  LIVE=0 skips step 3, CORE=0 step 2, LIVE_VERBOSE=1 prints every reply, LIVE_GLOB picks the
#  API-up files (default tests/stories/live_*.yml).
#  Everything started here is stopped by PID on exit.
#
#  Speed (issue #13): the Rasa server, the action server and the API for step 3 are started
#  before step 2, so Rasa loads the model while `rasa test core` runs, and step 2 is one
#  `rasa test core` over both story sets (one model load, the same stories and the same
#  gate). Each step prints the seconds since the start.
set -euo pipefail
cd "$(dirname "$0")/.."

BOT=.venv-bot/bin
API=.venv-api/bin
MODEL=${MODEL:-models/helpline.tar.gz}
export PYTHONHASHSEED=0 TF_CPP_MIN_LOG_LEVEL=2 SANIC_HOST=127.0.0.1
WORK=$(mktemp -d "${TMPDIR:-/tmp}/story-tests.XXXXXX")
PIDS=()

stop_all() {
  local pid
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null || true
  done
  PIDS=()
}
cleanup() { stop_all; rm -rf "$WORK"; }
trap cleanup EXIT
REPORT=reports/decisive-facts.json   # live_check.py writes the .md beside it; every run starts afresh
rm -f "$REPORT" "${REPORT%.json}.md"

free_port() { "$BOT/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

wait_for() {  # url, seconds, pid
  local url=$1 seconds=$2 pid=$3 i
  for ((i = 0; i < seconds; i++)); do
    if ! kill -0 "$pid" 2>/dev/null; then echo "process $pid exited while waiting for $url" >&2; return 1; fi
    if "$BOT/python" -c "import sys,urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)" "$url" 2>/dev/null; then
      return 0
    fi
    sleep 1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

BEGAN=$SECONDS
step() { echo; echo "=== [$((SECONDS - BEGAN))s] $*"; }

# -- 1. model -----------------------------------------------------------------------------
step "model: $MODEL"
if [ -f scripts/train_if_changed.py ]; then
  "$BOT/python" scripts/train_if_changed.py --model "$MODEL"
elif [ ! -f "$MODEL" ]; then
  "$BOT/rasa" train --fixed-model-name "$(basename "$MODEL" .tar.gz)" --out "$(dirname "$MODEL")"
fi

# -- live processes, started now: Rasa loads the model while step 2 runs --------------------
LIVE=${LIVE:-1}
if [ "$LIVE" != 0 ]; then
  ACTIONS_PORT=$(free_port)
  RASA_PORT=$(free_port)
  cat > "$WORK/endpoints.yml" <<YAML
action_endpoint:
  url: http://127.0.0.1:$ACTIONS_PORT/webhook
tracker_store:
  type: SQL
  dialect: sqlite
  db: $WORK/rasa-tracker.db
YAML
  TOKEN=$("$BOT/python" -c 'import secrets; print(secrets.token_urlsafe(24))')       # the operator's
  BOT_TOKEN=$("$BOT/python" -c 'import secrets; print(secrets.token_urlsafe(24))')   # the action server's
  # The action server's token: the bot token the API below is started with; for an API given by
  # HELPLINE_API_URL, its HELPLINE_BOT_TOKEN (or, for older settings, HELPLINE_API_TOKEN).
  if [ -z "${HELPLINE_API_URL:-}" ]; then ACTIONS_TOKEN=$BOT_TOKEN
  else ACTIONS_TOKEN=${HELPLINE_BOT_TOKEN:-${HELPLINE_API_TOKEN:-}}; fi
fi

start_actions() {  # HELPLINE_API_URL for this action server, log name (not waited for: wait_actions)
  # Only its own settings, as under `make run` (scripts/run_with_env.py): not the operator's token
  # the API-up pass exports below.
  HELPLINE_API_URL=$1 HELPLINE_BOT_TOKEN=$ACTIONS_TOKEN \
    "$BOT/python" scripts/run_with_env.py actions --env-file /dev/null -- \
    "$BOT/python" -m rasa_sdk --actions actions --port "$ACTIONS_PORT" > "$WORK/actions-$2.log" 2>&1 &
  ACTIONS_PID=$!
  PIDS+=("$ACTIONS_PID")
}
wait_actions() { wait_for "http://127.0.0.1:$ACTIONS_PORT/health" 60 "$ACTIONS_PID"; }

# The API for step 3b, when HELPLINE_API_URL is unset: started here on a free port with a temporary
# SQLite database (see the top). Its settings go to its own process now; they are exported for the
# API-up pass below, as before (the action server and live_check.py read them there).
START_API=0
if [ "$LIVE" != 0 ] && [ -z "${HELPLINE_API_URL:-}" ]; then
  if [ ! -x "$API/uvicorn" ] || [ ! -f api/main.py ]; then
    echo "API not available (.venv-api or api/main.py missing): live API-up checks will be skipped" >&2
  else
    START_API=1
    API_PORT=$(free_port)
    # The environment wins over .env (pydantic-settings), so a developer's .env changes none of this.
    API_ENV=(DATABASE_URL="sqlite:///$WORK/api.db" HELPLINE_API_TOKEN="$TOKEN" HELPLINE_BOT_TOKEN="$BOT_TOKEN" ENVIRONMENT=test
             SESSION_SECRET="$("$BOT/python" -c 'import secrets; print(secrets.token_urlsafe(24))')"
             TWILIO_AUTH_TOKEN="$("$BOT/python" -c 'import secrets; print(secrets.token_urlsafe(24))')"
             TWILIO_ACCOUNT_SID="" TWILIO_FROM_NUMBER=""
             PUBLIC_BASE_URL="http://127.0.0.1:$API_PORT" RASA_URL="http://127.0.0.1:$RASA_PORT"
             RASA_TIMEOUT_SECONDS="${LIVE_RASA_TIMEOUT:-30}"
             # Scripted conversations at machine speed: the public doors' rate limits lifted.
             DOOR_LIMIT_CHAT_CONVERSATION=1000/second DOOR_LIMIT_CHAT_CLIENT=1000/second
             DOOR_LIMIT_CHAT_NEW=1000/second DOOR_LIMIT_SMS_NUMBER=1000/second
             DOOR_LIMIT_VOICE_NUMBER=1000/second DOOR_LIMIT_VOICE_CALL=1000/second)
    (
      export "${API_ENV[@]}"
      "$API/alembic" upgrade head > "$WORK/api-migrate.log" 2>&1
      "$API/python" -m api.seed > "$WORK/api-seed.log" 2>&1
      exec "$API/uvicorn" --factory api.main:create_app --host 127.0.0.1 --port "$API_PORT" > "$WORK/api.log" 2>&1
    ) &
    API_PID=$!
    PIDS+=("$API_PID")
  fi
fi

if [ "$LIVE" != 0 ]; then
  step "starting Rasa, the action server (API unreachable)${API_PORT:+ and the API} for the live checks"
  CLOSED_PORT=$(free_port)   # nothing listens here
  start_actions "http://127.0.0.1:$CLOSED_PORT" down
  "$BOT/python" -m bot.serve run --model "$MODEL" --endpoints "$WORK/endpoints.yml" --credentials bot/credentials.yml \
    --interface 127.0.0.1 --port "$RASA_PORT" > "$WORK/rasa.log" 2>&1 &
  RASA_PID=$!
  PIDS+=("$RASA_PID")
fi

# -- 2. dialogue policy on the stories ---------------------------------------------------------
# Both sets in one run: a directory of links to every file of each set (named by its set, so
# results and failures say which), one model load instead of two.
[ "${CORE:-1}" = 0 ] && STORY_SETS="" || STORY_SETS="tests/stories tests/stories_api_down"
if [ -n "$STORY_SETS" ]; then
  CORE_STORIES="$WORK/core-stories"
  mkdir -p "$CORE_STORIES"
  for set in $STORY_SETS; do
    for file in "$set"/*.yml; do
      ln -s "$PWD/$file" "$CORE_STORIES/$(basename "$set")__$(basename "$file")"
    done
  done
  step "rasa test core: $STORY_SETS"
  "$BOT/rasa" test core --model "$MODEL" --stories "$CORE_STORIES" --fail-on-prediction-errors \
    --out "$WORK/results-core" --no-plot
  if [ "${STORY_E2E:-0}" != 0 ]; then
    step "rasa test core --e2e (NLU too): $STORY_SETS"
    "$BOT/rasa" test core --e2e --model "$MODEL" --stories "$CORE_STORIES" --fail-on-prediction-errors \
      --out "$WORK/results-e2e" --no-plot
  fi
fi

[ "$LIVE" = 0 ] && { echo "story tests passed (live checks skipped)"; exit 0; }

# -- 3. live conversations ------------------------------------------------------------------------
report_summary() { step "decisive facts"; "$BOT/python" tests/stories_api_down/live_check.py --summary --report "$REPORT" || true; }

step "live, API unreachable"
wait_actions
wait_for "http://127.0.0.1:$RASA_PORT/" 300 "$RASA_PID"
status=0
"$BOT/python" tests/stories_api_down/live_check.py ${LIVE_VERBOSE:+-v} --rasa "http://127.0.0.1:$RASA_PORT" \
  --report "$REPORT" --append tests/stories_api_down/live_conversations.yml || status=1

step "live, API up"
kill "$ACTIONS_PID"; wait "$ACTIONS_PID" 2>/dev/null || true
if [ -z "${HELPLINE_API_URL:-}" ]; then
  if [ "$START_API" = 0 ]; then
    echo "API not available (.venv-api or api/main.py missing): live API-up checks skipped" >&2
    report_summary
    exit $status
  fi
  export "${API_ENV[@]}"
  wait_for "http://127.0.0.1:$API_PORT/health" 60 "$API_PID" || {
    tail -n 30 "$WORK"/api-migrate.log "$WORK"/api-seed.log "$WORK"/api.log >&2 2>/dev/null; exit 1; }
  API_URL="http://127.0.0.1:$API_PORT"
  SMS_ARGS=(--api "$API_URL" --public-base-url "$PUBLIC_BASE_URL")
  echo "API $API_URL: RASA_URL=$RASA_URL RASA_TIMEOUT_SECONDS=$RASA_TIMEOUT_SECONDS, test TWILIO_AUTH_TOKEN," \
       "PUBLIC_BASE_URL=$PUBLIC_BASE_URL, no TWILIO_ACCOUNT_SID"
else
  API_URL=$HELPLINE_API_URL
  SMS_ARGS=()
  echo "HELPLINE_API_URL given: sms runs skipped (they need the API started here, relaying to this Rasa)"
fi
start_actions "$API_URL" up
wait_actions
shopt -s nullglob
LIVE_FILES=(${LIVE_GLOB:-tests/stories/live_*.yml})
shopt -u nullglob
if [ "${#LIVE_FILES[@]}" -gt 0 ]; then
  # One run for all the files: the sms From numbers are then checked distinct across them.
  "$BOT/python" tests/stories_api_down/live_check.py ${LIVE_VERBOSE:+-v} --rasa "http://127.0.0.1:$RASA_PORT" \
    ${SMS_ARGS[@]+"${SMS_ARGS[@]}"} --report "$REPORT" --append "${LIVE_FILES[@]}" || status=1
else
  echo "no tests/stories/live_*.yml"
fi
report_summary

if [ "$status" != 0 ]; then
  echo "live checks failed; logs:" >&2
  tail -n 30 "$WORK"/actions-*.log >&2 || true
  [ -f "$WORK/api.log" ] && { echo "--- api.log" >&2; tail -n 30 "$WORK/api.log" >&2; }
  exit 1
fi
echo "story tests passed [$((SECONDS - BEGAN))s]"
