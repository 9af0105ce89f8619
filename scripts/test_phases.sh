#!/usr/bin/env bash
# `make test`'s runner: each argument is a phase (a make target), or several joined by "+" that run
# side by side, because neither keeps both cores busy on its own (the held-out NLU check, one
# process, beside the live conversations, which wait on each turn). Phases that do keep both cores
# busy gain nothing side by side: the Makefile's TEST_PHASES says what was measured.
# The first of a group prints as it goes; the others' output is kept and printed when the group
# ends. The first failing group stops the run. At the end, or at the failure, a table of each
# group's seconds (and each member's) and the load average before and after it: printed and
# written to reports/test-times.md. Other work on the machine shows in the load.
set -uo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/test-phases.XXXXXX")
trap 'rm -rf "$LOGS"' EXIT
mkdir -p reports

load() { cut -d' ' -f1 /proc/loadavg; }

# run_member NAME [LOG]: one make target, its seconds then its status written beside the log.
run_member() {
  local name=$1 log=${2:-} started=$SECONDS status
  if [ -n "$log" ]; then "$MAKE" --no-print-directory "$name" > "$log" 2>&1; else "$MAKE" --no-print-directory "$name"; fi
  status=$?
  echo "$((SECONDS - started)) $status" > "$LOGS/$name.result"
  return $status
}

rows="| phase | seconds | load before | load after | result |"$'\n'"|---|---:|---:|---:|---|"
status=0
began=$SECONDS
for group in "$@"; do
  IFS=+ read -r -a members <<< "$group"
  before=$(load)
  started=$SECONDS
  pids=()
  for member in "${members[@]:1}"; do
    run_member "$member" "$LOGS/$member.log" &
    pids+=($!)
  done
  run_member "${members[0]}"
  for pid in "${pids[@]}"; do wait "$pid"; done
  for member in "${members[@]:1}"; do
    echo; echo "=== output of $member (run beside ${members[0]})"; cat "$LOGS/$member.log"
  done
  group_status=0
  detail=""
  for member in "${members[@]}"; do
    read -r seconds member_status < "$LOGS/$member.result"
    [ "$member_status" = 0 ] || { group_status=$member_status; failed=$member; }
    detail+="${detail:+; }$member $seconds"
  done
  result=$([ $group_status = 0 ] && echo ok || echo "FAILED ($failed: $group_status)")
  name=$group
  [ ${#members[@]} -gt 1 ] && name="${group//+/ + } (side by side: $detail)"
  rows+=$'\n'"| $name | $((SECONDS - started)) | $before | $(load) | $result |"
  if [ $group_status != 0 ]; then status=$group_status; break; fi
done
rows+=$'\n'"| **total** | **$((SECONDS - began))** | | $(load) | |"
{
  echo "# make test: time per phase"; echo
  echo "$(date -u +%FT%TZ), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo; echo "$rows"
} > reports/test-times.md
echo; echo "$rows"; echo "(reports/test-times.md)"
if [ $status = 0 ]; then echo "make test: all checks passed"; else echo "make test: ${failed:-a phase} failed"; fi
exit $status
