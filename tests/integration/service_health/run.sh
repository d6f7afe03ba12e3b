#!/usr/bin/env bash
# Every binary answers --help; every running service serves /healthz,
# /readyz and /metrics that `promtool check metrics` accepts, and stops
# cleanly on SIGTERM (its last log line says so).
set -uo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
ok() { echo "ok   $*"; }

for binary in "$LINDUNG_BIN_DIR"/*; do
  [ -x "$binary" ] || continue
  if "$binary" --help > /dev/null 2>&1; then ok "$(basename "$binary") --help"; else fail "$(basename "$binary") --help"; fi
done

for var in $(compgen -v | grep -E '^LINDUNG_[A-Z_]+_HTTP$'); do
  addr=${!var}
  name=${var#LINDUNG_}
  name=${name%_HTTP}
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/healthz")
  [ "$code" = 200 ] && ok "$name /healthz" || fail "$name /healthz answered $code"
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/readyz")
  [ "$code" = 200 ] && ok "$name /readyz" || fail "$name /readyz answered $code"
  metrics=$(curl -sf "http://$addr/metrics") || { fail "$name /metrics"; continue; }
  if problems=$(printf '%s\n' "$metrics" | promtool check metrics 2>&1); then
    ok "$name /metrics passes promtool check metrics"
  else
    fail "$name /metrics: $problems"
  fi
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://$addr/no-such-page")
  [ "$code" = 404 ] && ok "$name unknown path is 404" || fail "$name unknown path answered $code"
done

# Key-holding processes never write a core file.
for pidfile in "$LINDUNG_RUN_DIR"/pids/lindung-*.pid; do
  svc=$(basename "$pidfile" .pid)
  [ "$svc" = lindung-devbroker ] && continue
  limit=$(awk '/^Max core file size/ {print $5 "/" $6}' "/proc/$(cat "$pidfile")/limits" 2>/dev/null)
  [ "$limit" = 0/0 ] && ok "$svc writes no core file" || fail "$svc core file limit is '$limit'"
done

# One process per service: starting a running service changes nothing.
pidfile=$LINDUNG_RUN_DIR/pids/lindung-ingest.pid
before=$(cat "$pidfile")
message=$(LINDUNG_NO_BUILD=1 "$LINDUNG_SOURCE_DIR/scripts/stack" start lindung-ingest 2>&1)
copies=$(pgrep -c -x -f -- "$LINDUNG_BIN_DIR/lindung-ingest")
if [ "$(cat "$pidfile")" = "$before" ] && [ "$copies" = 1 ] && grep -q "already running" <<< "$message"; then
  ok "stack start of a running service is a no-op"
else
  fail "stack start of a running service: pid $before -> $(cat "$pidfile"), $copies copies, said: $message"
fi

# A graceful stop: SIGTERM, in-flight work finished, "stopped" logged.
log=$LINDUNG_RUN_DIR/logs/lindung-ingest.log
LINDUNG_NO_BUILD=1 "$LINDUNG_SOURCE_DIR/scripts/stack" restart lindung-ingest
if grep -q '"event":"stopped"' "$log"; then ok "ingest stops cleanly on SIGTERM"; else fail "ingest did not log a clean stop"; fi

it_done
