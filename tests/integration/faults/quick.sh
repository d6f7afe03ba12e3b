#!/usr/bin/env bash
# faults.quick: `scripts/faults --quick` on a stack of its own (its own run
# dir, not the shared test stack): 5,000 requests from the eleven partners
# while every service, the broker and PostgreSQL are killed, paused or
# restarted; fails when a request is lost, answered twice differently or
# wrongly, the audit trail misses or repeats a record, or its chain does not
# verify. Then nothing of that stack may survive: scripts/faults stops it,
# also on failure. (Not named run.sh: it needs no shared stack fixture.)
set -uo pipefail
: "${LINDUNG_SOURCE_DIR:?}" "${LINDUNG_BIN_DIR:?}" "${LINDUNG_RUN_DIR:?}"
run_dir=$LINDUNG_RUN_DIR-faults
out=$run_dir-out
LINDUNG_RUN_DIR=$run_dir LINDUNG_FAULTS_OUT=$out LINDUNG_FAULTS_SEED=${LINDUNG_FAULTS_SEED:-} \
  "$LINDUNG_SOURCE_DIR/scripts/faults" --quick ${LINDUNG_FAULTS_SEED:+--seed "$LINDUNG_FAULTS_SEED"}
status=$?
[ -f "$out/result.json" ] && cat "$out/result.json"

# Survivors: a supervisor, broker or PostgreSQL names the run dir on its
# command line; a service carries it in its environment.
survivors=0
while read -r pid cmd; do
  [ -n "$pid" ] && [ "$pid" != $$ ] || continue
  echo "FAIL survivor: pid $pid: $cmd"
  survivors=$((survivors + 1))
done < <(pgrep -a -f -- "$run_dir/" | grep -v -- "quick.sh")
for pid in $(pgrep -f -- "$LINDUNG_BIN_DIR/lindung-"); do
  if tr '\0' '\n' < "/proc/$pid/environ" 2> /dev/null | grep -qx "LINDUNG_RUN_DIR=$run_dir"; then
    echo "FAIL survivor: pid $pid: $(tr '\0' ' ' < "/proc/$pid/cmdline")"
    survivors=$((survivors + 1))
  fi
done
[ "$survivors" -eq 0 ] && echo "ok   nothing of the faults stack survived" || status=1
exit "$status"
