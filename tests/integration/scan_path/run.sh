#!/usr/bin/env bash
# The scan path through the running services: verdicts, links, every bad
# input with its exact outcome (it_scan_path), services restarted mid-stream
# with every request still answered, and no NIK or token in any log.
set -euo pipefail
# shellcheck disable=SC1091
. "$LINDUNG_RUN_DIR/stack.env"
bin=$LINDUNG_BIN_DIR
root=$LINDUNG_SOURCE_DIR
# shellcheck disable=SC1091
. "$root/tests/integration/lib.sh"
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
