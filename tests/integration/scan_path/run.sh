#!/usr/bin/env bash
# The scan path through the running services: verdicts, links, every bad
# input with its exact outcome (it_scan_path), services restarted mid-stream
# with every request still answered, and no NIK or token in any log.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
bin=$LINDUNG_BIN_DIR
root=$LINDUNG_SOURCE_DIR
lindung_ensure_seeded

secrets=$(mktemp)
trap 'rm -f "$secrets"' EXIT

echo "== verdicts, links and bad inputs"
"$LINDUNG_TEST_BIN_DIR/it_scan_path" "$secrets"

echo "== services restarted mid-stream"
"$bin/lindung-loadgen" --people 20 --duration 14 --rate 150 --timeout-ms 30000 --quiet \
  --secrets-out "$secrets" --json "$LINDUNG_RUN_DIR/restart.json" &
loadgen=$!
sleep 4
LINDUNG_NO_BUILD=1 "$root/scripts/stack" restart lindung-decrypt
sleep 2
LINDUNG_NO_BUILD=1 "$root/scripts/stack" restart lindung-status-resolver
sleep 2
LINDUNG_NO_BUILD=1 "$root/scripts/stack" restart lindung-ingest
if ! wait "$loadgen"; then
  echo "FAIL: requests went unanswered or wrong across restarts: $(cat "$LINDUNG_RUN_DIR/restart.json")"
  exit 1
fi
echo "ok   every request answered across restarts: $(cat "$LINDUNG_RUN_DIR/restart.json" | head -c 200)"

echo "== no NIK or token in any log"
[ "$(wc -l < "$secrets")" -gt 20 ] || { echo "FAIL: too few secrets recorded"; exit 1; }
if grep -F -q -f "$secrets" "$LINDUNG_RUN_DIR"/logs/*.log; then
  echo "FAIL: a NIK or token appears in a service log"
  exit 1
fi
echo "ok   $(wc -l < "$secrets") NIKs and tokens, none in $(ls "$LINDUNG_RUN_DIR"/logs/*.log | wc -l) logs"

if [ -x "$bin/lindung-audit" ] && [ -n "${LINDUNG_AUDIT_HTTP:-}" ]; then
  echo "== the audit trail of the run"
  aq() { psql "$LINDUNG_AUDIT_ADMIN_DB_URL" -X -q -tA -c "$1"; }
  # Every request the resolver answered also passed ingest and decrypt:
  # one record per (request, stage), whatever was redelivered on the way.
  sleep 2
  missing=$(aq "SELECT count(*) FROM audit_records r WHERE r.stage = 3 AND r.outcome = 2 AND
                  (SELECT count(*) FROM audit_records o WHERE o.request_id = r.request_id
                     AND o.stage IN (1, 2)) <> 2")
  answered=$(aq "SELECT count(*) FROM audit_records WHERE stage = 3 AND outcome = 2")
  if [ "$answered" -gt 100 ] && [ "$missing" = 0 ]; then
    echo "ok   $answered answered requests, each with one ingest, decrypt and resolve record"
  else
    echo "FAIL: $missing of $answered answered requests lack an ingest or decrypt record"
    exit 1
  fi
  # Neither the audit tables nor audit.log hold a NIK or a token of the run.
  trail=$(mktemp)
  aq "SELECT * FROM audit_records" > "$trail"
  "$bin/lindung-audit-tail" >> "$trail"
  if grep -F -q -f "$secrets" "$trail"; then
    rm -f "$trail"
    echo "FAIL: a NIK or token appears in the audit trail"
    exit 1
  fi
  echo "ok   $(wc -l < "$trail") lines of audit tables and audit.log, no NIK or token"
  rm -f "$trail"
  if LINDUNG_AUDIT_DB_URL=$LINDUNG_AUDIT_ADMIN_DB_URL "$bin/lindung-audit" verify; then
    echo "ok   lindung-audit verify"
  else
    echo "FAIL: lindung-audit verify"
    exit 1
  fi
fi
