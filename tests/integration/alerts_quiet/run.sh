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

tmp=$(mktemp -d)
prom_pid=
cleanup() {
  [ -n "$prom_pid" ] && kill "$prom_pid" 2> /dev/null && wait "$prom_pid" 2> /dev/null
  LINDUNG_NO_BUILD=1 "$LINDUNG_SOURCE_DIR/scripts/stack" start lindung-ingest > /dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

# One job per service, named as in Kubernetes and compose (lindung-<service>).
{
  printf 'global: {scrape_interval: 1s, evaluation_interval: 1s}\n'
  printf 'rule_files: ["%s"]\n' "$LINDUNG_SOURCE_DIR/deploy/prometheus/lindung.rules.yml"
  printf 'scrape_configs:\n'
  for var in $(compgen -v | grep -E '^LINDUNG_[A-Z_]+_HTTP$'); do
    name=${var#LINDUNG_}
    name=${name%_HTTP}
    name=$(tr 'A-Z_' 'a-z-' <<< "$name")
    [ "$name" = resolver ] && name=status-resolver
    printf '  - {job_name: lindung-%s, static_configs: [{targets: ["%s"]}]}\n' "$name" "${!var}"
  done
} > "$tmp/prometheus.yml"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
  --web.listen-address="127.0.0.1:$port" > "$tmp/prometheus.log" 2>&1 &
prom_pid=$!
api="http://127.0.0.1:$port/api/v1"
query() { curl -fsS --data-urlencode "query=$1" "$api/query" | jq -r '.data.result'; }
wait_for() { # what seconds command...
  local what=$1 deadline=$(($(date +%s) + $2))
  shift 2
  until "$@"; do
    [ "$(date +%s)" -ge "$deadline" ] && { fail "$what: not within the time"; return 1; }
    sleep 0.5
  done
}
ready() { curl -fsS "http://127.0.0.1:$port/-/ready" > /dev/null 2>&1; }
wait_for "prometheus ready" 30 ready || { cat "$tmp/prometheus.log" >&2; exit 1; }
all_up() { [ "$(query 'count(up == 1)' | jq -r '.[0].value[1] // 0')" = 5 ]; }
wait_for "all five services scraped" 30 all_up

# Scans, as in scripts/demo. They fill venues (occupancy, check-ins) that
# later scenarios of the shared stack scan into: both go back as they were.
lindung_ensure_seeded
db() { "$LINDUNG_PG_BIN/psql" "$LINDUNG_DB_URL" -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
last_check_in=$(db -c "SELECT coalesce(max(id), 0) FROM check_ins")
db -c "SELECT format('UPDATE venues SET occupancy = %s WHERE venue_id = %L;', occupancy, venue_id) FROM venues" \
  > "$tmp/occupancy.sql"
restore_venues() {
  { echo "BEGIN; DELETE FROM check_ins WHERE id > $last_check_in;"; cat "$tmp/occupancy.sql"; echo "COMMIT;"; } |
    db > /dev/null || fail "venues not restored"
}
"$LINDUNG_BIN_DIR/lindung-loadgen" --people 100 --duration "${ALERTS_QUIET_SECONDS:-20}" --rate "${ALERTS_QUIET_RATE:-100}" --quiet \
  > "$tmp/loadgen.out" 2>&1 || fail "loadgen: $(tail -1 "$tmp/loadgen.out")"
sleep 3 # a few more evaluations after the last scan
restore_venues

rate=$(query 'sum(rate(lindung_requests_total{job="lindung-status-resolver"}[1m]))' | jq -r '.[0].value[1] // 0')
note "status-resolver answered $(printf '%.0f' "$rate") requests/s over the last minute"
alerts=$(query 'ALERTS')
if [ "$(jq length <<< "$alerts")" = 0 ]; then pass; else
  fail "alerts pending or firing during a clean run: $(jq -c '[.[] | .metric | {alertname, alertstate, job}]' <<< "$alerts")"
fi
bad_rules=$(curl -fsS "$api/rules" | jq -r '[.data.groups[].rules[] | select(.health != "ok") | .name] | join(" ")')
[ -z "$bad_rules" ] && pass || fail "rules that do not evaluate: $bad_rules"
rules=$(curl -fsS "$api/rules" | jq '[.data.groups[].rules[]] | length')
note "$rules rules evaluated every second, no alert pending or firing"

# Not blind: a service that stops shows at once as a pending LindungServiceDown.
LINDUNG_NO_BUILD=1 "$LINDUNG_SOURCE_DIR/scripts/stack" stop lindung-ingest > /dev/null 2>&1 || fail "stop ingest"
down_seen() { query 'ALERTS{alertname="LindungServiceDown", job="lindung-ingest"}' | jq -e 'length > 0' > /dev/null; }
wait_for "LindungServiceDown pending for a stopped ingest" 20 down_seen && pass
LINDUNG_NO_BUILD=1 "$LINDUNG_SOURCE_DIR/scripts/stack" start lindung-ingest > /dev/null 2>&1 || fail "start ingest again"

it_done
