#!/usr/bin/env bash
# integration.alerts_fire: each alert rule fires when its condition is
# caused on the running stack, evaluated by a real Prometheus scraping every
# service. The rules are deploy/prometheus/lindung.rules.yml with time
# compressed 60-fold (every "m" of a `for:`, a range or an offset becomes
# "s", the 900 s of LindungAuditChainUnchecked 15 s): the expressions,
# labels and thresholds are the real ones, and a rule with a duration the
# compression misses fails the test. What is caused:
#   - lindung-audit stopped: LindungServiceDown, LindungAuditChainUnchecked;
#   - PostgreSQL stopped while partners scan: LindungPostgresDown, and
#     LindungErrorRateHigh (the resolver answers UNAVAILABLE);
#   - bytes that are no request sent to a partner's request topic for 25 s:
#     LindungRejectionRateHigh on ingest;
#   - 300 bytes-that-are-no-message on scan.accepted: LindungDeadLetters
#     on decrypt;
#   - one audit record edited by the database owner: LindungAuditChainBroken.
# Not caused here (listed in not_caused, reported by the test):
# LindungConsumerLagHigh/Critical, LindungPartnerEventsNotApplied.
# Everything is put back: services and PostgreSQL running, the record
# restored and the chain verified again, venues as they were.
set -uo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/prometheus.sh
. "$(dirname "$0")/../prometheus.sh"
stack() { LINDUNG_NO_BUILD=1 "$LINDUNG_SOURCE_DIR/scripts/stack" "$@" > /dev/null 2>&1; }
not_caused="LindungConsumerLagHigh LindungConsumerLagCritical LindungPartnerEventsNotApplied"

tmp=$(mktemp -d)
loadgen_pid=
restore_record=
cleanup() {
  [ -n "$loadgen_pid" ] && kill "$loadgen_pid" 2> /dev/null && wait "$loadgen_pid" 2> /dev/null
  prom_stop
  stack start postgresql
  for s in lindung-audit lindung-revocation lindung-status-resolver lindung-decrypt lindung-ingest; do stack start "$s"; done
  [ -n "$restore_record" ] && eval "$restore_record"
  [ -f "$tmp/venues.sql" ] && lindung_venues_restore "$tmp/venues.sql"
  rm -rf "$tmp"
}
trap cleanup EXIT

rules=$LINDUNG_SOURCE_DIR/deploy/prometheus/lindung.rules.yml
sed -E -e 's/(for: [0-9]+)m/\1s/' -e 's/\[([0-9]+)m\]/[\1s]/g' -e 's/offset ([0-9]+)m/offset \1s/g' \
  -e 's/> 900$/> 15/' "$rules" > "$tmp/fast.rules.yml"
left=$(grep -nE '(for: *[0-9]+[mh]|\[[0-9]+[mh]|offset [0-9]+[mh]|> 900$)' "$tmp/fast.rules.yml")
[ -z "$left" ] && pass || fail "durations the compression misses: $left"
prom_start "$tmp/fast.rules.yml" || exit 1

fired=" "
firing() { # alertname job
  prom_query "ALERTS{alertname=\"$1\", alertstate=\"firing\"${2:+, job=\"$2\"}}" | jq -e 'length > 0' > /dev/null
}
expect_firing() { # alertname job seconds
  if wait_for "$1 firing (${2:-any job})" "$3" firing "$1" "$2"; then
    pass "$1 fires (${2:-any job})"
    fired+="$1 "
  fi
}

# ---- a service stopped; the audit chain unchecked -------------------------
stack stop lindung-audit || fail "stop audit"
expect_firing LindungServiceDown lindung-audit 30
expect_firing LindungAuditChainUnchecked "" 30
stack start lindung-audit || fail "start audit"

# ---- PostgreSQL down while partners scan ----------------------------------
lindung_ensure_seeded
lindung_venues_snapshot "$tmp/venues.sql"
"$LINDUNG_BIN_DIR/lindung-loadgen" --people 50 --duration 90 --rate 30 --quiet > "$tmp/loadgen.out" 2>&1 &
loadgen_pid=$!
scanning() { [ "$(prom_query 'sum(lindung:requests:rate5m{job="lindung-status-resolver"})' | jq -r '.[0].value[1] // 0' | cut -d. -f1)" -ge 2 ]; }
wait_for "scans answered by the resolver" 60 scanning
stack stop postgresql || fail "stop postgresql"
expect_firing LindungPostgresDown lindung-status-resolver 40
expect_firing LindungErrorRateHigh lindung-status-resolver 60
stack start postgresql || fail "start postgresql"
kill "$loadgen_pid" 2> /dev/null
wait "$loadgen_pid" 2> /dev/null
loadgen_pid=
lindung_venues_restore "$tmp/venues.sql"
rm -f "$tmp/venues.sql"

# ---- what partners send is not a request ----------------------------------
kcat_produce() { # topic
  kcat -b "$LINDUNG_KAFKA_BROKERS" -X security.protocol=ssl -X ssl.ca.location="$LINDUNG_KAFKA_SSL_CA_FILE" \
    -X ssl.certificate.location="$LINDUNG_KAFKA_SSL_CERT_FILE" -X ssl.key.location="$LINDUNG_KAFKA_SSL_KEY_FILE" \
    -P -t "$1" 2> "$tmp/kcat.err"
}
for i in $(seq 500); do
  echo "not a request $i"
  sleep 0.05
done | kcat_produce scan.requests.gojek &
garbage_pid=$!
expect_firing LindungRejectionRateHigh lindung-ingest 60
kill "$garbage_pid" 2> /dev/null
wait "$garbage_pid" 2> /dev/null

# ---- dead letters between services ----------------------------------------
seq 300 | sed 's/^/not a message /' | kcat_produce scan.accepted || fail "produce to scan.accepted: $(cat "$tmp/kcat.err")"
expect_firing LindungDeadLetters lindung-decrypt 40

# ---- an audit record edited -----------------------------------------------
aq() { "$LINDUNG_PG_BIN/psql" "$LINDUNG_AUDIT_ADMIN_DB_URL" -X -q -v ON_ERROR_STOP=1 -tA -c "$1"; }
as_owner() { aq "BEGIN; ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_change;
  $1; ALTER TABLE audit_records ENABLE TRIGGER audit_records_no_change; COMMIT" > /dev/null; }
k=$(aq "SELECT max(seq) / 2 FROM audit_records")
original=$(aq "SELECT service FROM audit_records WHERE seq = $k")
as_owner "UPDATE audit_records SET service = 'tampered' WHERE seq = $k" || fail "tamper seq $k"
restore_record="as_owner \"UPDATE audit_records SET service = '$original' WHERE seq = $k\""
expect_firing LindungAuditChainBroken lindung-audit 90
eval "$restore_record" && restore_record= || fail "restore seq $k"
metric() { curl -fsS "http://$LINDUNG_AUDIT_HTTP/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
intact() { [ "$(metric lindung_audit_chain_verified)" = 1 ]; }
wait_for "lindung_audit_chain_verified 1 once restored" 120 intact

# ---- every rule accounted for ---------------------------------------------
for alert in $(grep -oE '^ *- alert: [A-Za-z]+' "$rules" | awk '{print $3}'); do
  case " $not_caused " in
    *" $alert "*) note "$alert: not caused by this test" ;;
    *) [[ "$fired" == *" $alert "* ]] || fail "$alert: no scenario made it fire" ;;
  esac
done
note "fired: $fired"
it_done
