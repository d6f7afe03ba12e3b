#!/usr/bin/env bash
# Every request one answer, never two different ones (issue 14), through a
# PostgreSQL outage under traffic with the status-resolver killed (kill -9)
# in the middle of it: it_answer_once sends from all eleven partners and
# reads every answer on the partners' results topics (read_committed).
# While PostgreSQL is down requests are answered UNAVAILABLE, not met with
# silence; once it is back they get verdicts again with no operator.
set -euo pipefail
# shellcheck disable=SC1091
. "$LINDUNG_RUN_DIR/stack.env"
root=$LINDUNG_SOURCE_DIR
# shellcheck disable=SC1091
. "$root/tests/integration/lib.sh"
lindung_ensure_seeded

pg_opts=$(sed -e 's/^[^ ]* //' "$LINDUNG_PG_DATA/postmaster.opts")
pg_log=$(dirname "$LINDUNG_PG_DATA")/server.log
pg_ctl() { runuser -u postgres -- "$LINDUNG_PG_BIN/pg_ctl" -D "$LINDUNG_PG_DATA" "$@"; }
pg_start() { pg_ctl -l "$pg_log" -o "$pg_opts" -w -t 60 start > /dev/null; }
restarter=
cleanup() {
  # Never leave the shared stack without its database or its resolver.
  pg_ctl status > /dev/null 2>&1 || pg_start || true
  [ -z "$restarter" ] || kill "$restarter" 2> /dev/null || true
  kill -0 "$(cat "$LINDUNG_RUN_DIR/pids/lindung-status-resolver.pid")" 2> /dev/null ||
    LINDUNG_NO_BUILD=1 "$root/scripts/stack" start lindung-status-resolver > /dev/null || true
}
trap cleanup EXIT

echo "== a request_id is answered once, after decrypt's replay window too"
ids=$("$LINDUNG_TEST_BIN_DIR/it_answer_once" reuse)
# Each replay has its own audit record, naming the id it reused.
psql_bin=${LINDUNG_PG_BIN:-/usr/lib/postgresql/15/bin}/psql
for id in $ids; do
  n=0
  for _ in $(seq 100); do
    n=$("$psql_bin" "$LINDUNG_AUDIT_DB_URL" -X -q -tA -c \
      "SELECT count(*) FROM audit_records WHERE detail = 'replay_of=$id' AND error = 8" 2> /dev/null || echo 0)
    [ "$n" -ge 1 ] && break
    sleep 0.2
  done
  [ "$n" -ge 1 ] || { echo "FAIL: no audit record of the replay of $id"; exit 1; }
done
echo "ok   both replays audited"

echo "== one answer per request through a PostgreSQL outage and resolver kills"
"$LINDUNG_TEST_BIN_DIR/it_answer_once" 40 30 &
driver=$!
kill_resolver() {
  local pid
  pid=$(cat "$LINDUNG_RUN_DIR/pids/lindung-status-resolver.pid")
  kill -9 "$pid"
  while kill -0 "$pid" 2> /dev/null; do sleep 0.1; done
}
sleep 12 # links done, traffic flowing
echo "== PostgreSQL stopped under traffic"
pg_ctl -m immediate -w stop > /dev/null
sleep 5
echo "== status-resolver killed (kill -9) during the outage, and started again"
kill_resolver
# `start` waits for readiness, which needs PostgreSQL: in the background.
LINDUNG_NO_BUILD=1 "$root/scripts/stack" start lindung-status-resolver > /dev/null &
restarter=$!
sleep 6
# Killed again as PostgreSQL comes back, so the UNAVAILABLE answers of its
# last seconds are read again by a resolver that can give verdicts: without
# a transaction around answer and offset, those got a second answer.
echo "== status-resolver killed again; PostgreSQL back; resolver started"
kill "$restarter" 2> /dev/null || true # its wait for readiness
wait "$restarter" 2> /dev/null || true
restarter=
kill_resolver
pg_start
LINDUNG_NO_BUILD=1 "$root/scripts/stack" start lindung-status-resolver > /dev/null
wait "$driver"
