#!/usr/bin/env bash
# integration.alerts_quiet: the alert rules, evaluated by a real Prometheus
# (Debian's, as deploy/install-tools installs it) scraping every service of
# the stack each second, stay silent (not even pending) while partners scan
# as in scripts/demo; and the same Prometheus does see a service go down
# (LindungServiceDown pending), so the silence is not a blind spot. The
# venues the scans filled are emptied again for the scenarios after it.
set -uo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"

# shellcheck source=tests/integration/prometheus.sh
. "$(dirname "$0")/../prometheus.sh"

tmp=$(mktemp -d)
cleanup() {
  prom_stop
  LINDUNG_NO_BUILD=1 "$LINDUNG_SOURCE_DIR/scripts/stack" start lindung-ingest > /dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
prom_start "$LINDUNG_SOURCE_DIR/deploy/prometheus/lindung.rules.yml" || exit 1

# Scans, as in scripts/demo; the venues they fill are put back after.
lindung_ensure_seeded
lindung_venues_snapshot "$tmp/venues.sql"
"$LINDUNG_BIN_DIR/lindung-loadgen" --people 100 --duration "${ALERTS_QUIET_SECONDS:-20}" --rate "${ALERTS_QUIET_RATE:-100}" --quiet \
  > "$tmp/loadgen.out" 2>&1 || fail "loadgen: $(tail -1 "$tmp/loadgen.out")"
sleep 3 # a few more evaluations after the last scan
lindung_venues_restore "$tmp/venues.sql"

rate=$(prom_query 'sum(rate(lindung_requests_total{job="lindung-status-resolver"}[1m]))' | jq -r '.[0].value[1] // 0')
note "status-resolver answered $(printf '%.0f' "$rate") requests/s over the last minute"
alerts=$(prom_query 'ALERTS')
if [ "$(jq length <<< "$alerts")" = 0 ]; then pass; else
  fail "alerts pending or firing during a clean run: $(jq -c '[.[] | .metric | {alertname, alertstate, job}]' <<< "$alerts")"
fi
bad_rules=$(curl -fsS "$prom_api/rules" | jq -r '[.data.groups[].rules[] | select(.health != "ok") | .name] | join(" ")')
[ -z "$bad_rules" ] && pass || fail "rules that do not evaluate: $bad_rules"
rules=$(curl -fsS "$prom_api/rules" | jq '[.data.groups[].rules[]] | length')
note "$rules rules evaluated every second, no alert pending or firing"

# Not blind: a service that stops shows at once as a pending LindungServiceDown.
LINDUNG_NO_BUILD=1 "$LINDUNG_SOURCE_DIR/scripts/stack" stop lindung-ingest > /dev/null 2>&1 || fail "stop ingest"
down_seen() { prom_query 'ALERTS{alertname="LindungServiceDown", job="lindung-ingest"}' | jq -e 'length > 0' > /dev/null; }
wait_for "LindungServiceDown pending for a stopped ingest" 20 down_seen && pass
LINDUNG_NO_BUILD=1 "$LINDUNG_SOURCE_DIR/scripts/stack" start lindung-ingest > /dev/null 2>&1 || fail "start ingest again"

it_done
