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
#   - one audit record edited by the database owner: LindungAuditChainBroken;
#   - audit_records locked (a stuck database) while partners scan, then
#     110,000 more events: LindungConsumerLagHigh and Critical on audit;
#   - lindung-decrypt's Read ACL on partner.events taken away while partner
#     quotas change: LindungPartnerEventsNotApplied on decrypt.
# Everything is put back: services and PostgreSQL running, the ACL, the
# record restored and the chain verified again, venues and quotas as they
# were.
set -uo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=tests/integration/prometheus.sh
. "$(dirname "$0")/../prometheus.sh"
stack() { LINDUNG_NO_BUILD=1 "$LINDUNG_SOURCE_DIR/scripts/stack" "$@" > /dev/null 2>&1; }
not_caused=""

tmp=$(mktemp -d)
loadgen_pid=
lock_pid=
restore_record=
restore_acl=
restore_quota=
scan_in_background() { # rate
  "$LINDUNG_BIN_DIR/lindung-loadgen" --people 50 --duration 120 --rate "$1" --quiet > "$tmp/loadgen.out" 2>&1 &
  loadgen_pid=$!
}
stop_scanning() {
  [ -n "$loadgen_pid" ] && kill "$loadgen_pid" 2> /dev/null && wait "$loadgen_pid" 2> /dev/null
  loadgen_pid=
}
aq() { "$LINDUNG_PG_BIN/psql" "$LINDUNG_AUDIT_ADMIN_DB_URL" -X -q -v ON_ERROR_STOP=1 -tA -c "$1"; }
unlock_audit() {
  [ -n "${lock_pid:-}" ] || return 0
  aq "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'alerts_fire_lock'" > /dev/null
  wait "$lock_pid" 2> /dev/null
  lock_pid=
}
cleanup() {
  stop_scanning
  unlock_audit
  [ -n "$restore_acl" ] && topic_read_acl add lindung-decrypt partner.events
  [ -n "$restore_quota" ] && "$LINDUNG_BIN_DIR/lindungctl" partner quota gojek --rate 0 > /dev/null
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

kcat_produce() { # topic
  kcat -b "$LINDUNG_KAFKA_BROKERS" -X security.protocol=ssl -X ssl.ca.location="$LINDUNG_KAFKA_SSL_CA_FILE" \
    -X ssl.certificate.location="$LINDUNG_KAFKA_SSL_CERT_FILE" -X ssl.key.location="$LINDUNG_KAFKA_SSL_KEY_FILE" \
    -P -t "$1" 2> "$tmp/kcat.err"
}
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

# ---- the audit database stuck: the audit service falls behind -------------
# (Before PostgreSQL goes down: after it comes back, audit re-publishes and
# stays paused for minutes on a loaded machine, and a paused lag stands still.)
lindung_ensure_seeded
lindung_venues_snapshot "$tmp/venues.sql"
audit_lag() { prom_query 'max(lindung_consumer_lag_messages{job="lindung-audit"})' | jq -r '.[0].value[1] // 1000000'; }
caught_up() { [ "$(audit_lag)" -lt 100 ]; }
# Its inputs in flight wait on the lock, it takes no more, and what arrives
# meanwhile is lag: scans' events, then 110,000 that are no event.
PGAPPNAME=alerts_fire_lock "$LINDUNG_PG_BIN/psql" "$LINDUNG_AUDIT_ADMIN_DB_URL" -X -q \
  -c "BEGIN; LOCK TABLE audit_records IN EXCLUSIVE MODE; SELECT pg_sleep(300); COMMIT" > /dev/null 2>&1 &
lock_pid=$!
locked() {
  [ "$(aq "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE a.application_name = 'alerts_fire_lock' AND l.relation = 'audit_records'::regclass AND l.granted")" = 1 ]
}
wait_for "audit_records locked" 60 locked
scan_in_background 100
# Beyond the 4,000 it may hold in flight, it takes nothing: what follows,
# even what it could dead-letter without the database, waits too.
behind() { [ "$(audit_lag)" -ge 5000 ] && [ "$(audit_lag)" != 1000000 ]; }
wait_for "audit events waiting on the lock" 120 behind
seq 110000 | sed 's/^/not an event /' | kcat_produce audit.events || fail "produce to audit.events: $(cat "$tmp/kcat.err")"
expect_firing LindungConsumerLagHigh lindung-audit 40
expect_firing LindungConsumerLagCritical lindung-audit 60
note "audit lag at its highest: $(prom_query 'max_over_time(lindung_consumer_lag_messages{job="lindung-audit"}[2m])' | jq -r '.[0].value[1]')"
stop_scanning
unlock_audit
wait_for "audit caught up" 300 caught_up

# ---- PostgreSQL down while partners scan ----------------------------------
# The new loadgen links its people first: the database must be up until its
# scans are answered, not only while the last scenario's traffic drains.
verdicts() {
  curl -s "http://$LINDUNG_RESOLVER_HTTP/metrics" |
    awk '/^lindung_requests_total\{outcome="(allow|deny)"\}/ { s += $2 } END { printf "%d\n", s }'
}
verdicts_before=$(verdicts)
scan_in_background 30
scanning() {
  [ $(($(verdicts) - verdicts_before)) -ge 60 ] &&
    [ "$(prom_query 'sum(lindung:requests:rate5m{job="lindung-status-resolver"})' | jq -r '.[0].value[1] // 0' | cut -d. -f1)" -ge 2 ]
}
wait_for "scans answered by the resolver" 60 scanning
stack stop postgresql || fail "stop postgresql"
expect_firing LindungPostgresDown lindung-status-resolver 40
expect_firing LindungErrorRateHigh lindung-status-resolver 60
stack start postgresql || fail "start postgresql"
stop_scanning
# The admin API answers 503 until revocation has reconnected (backoff).
admin_up() { "$LINDUNG_BIN_DIR/lindungctl" partner quota gojek --rate 0 > /dev/null 2>&1; }
wait_for "the admin API on PostgreSQL again" 60 admin_up
lindung_venues_restore "$tmp/venues.sql"
rm -f "$tmp/venues.sql"

# ---- an instance cut off partner.events -----------------------------------
dist=$("$LINDUNG_SOURCE_DIR/deploy/kafka/dist" path) || fail "Apache Kafka is not installed"
javac -cp "$dist/lib/*" -d "$tmp/java" "$(dirname "$0")/TopicReadAcl.java" || fail "javac TopicReadAcl"
topic_read_acl() { # remove|add principal topic
  java -Xmx128m -XX:+UseSerialGC -cp "$tmp/java:$dist/lib/*" TopicReadAcl \
    "$LINDUNG_KAFKA_CERT_DIR/lindung-admin.java.properties" "$@"
}
topic_read_acl remove lindung-decrypt partner.events && restore_acl=1 || fail "remove decrypt's Read ACL"
restore_quota=1 # seeded partners have no quota
for i in $(seq 30); do
  "$LINDUNG_BIN_DIR/lindungctl" partner quota gojek --rate $((1000 + i)) > /dev/null || fail "partner quota"
  firing LindungPartnerEventsNotApplied lindung-decrypt && break
  sleep 2
done
"$LINDUNG_BIN_DIR/lindungctl" partner quota gojek --rate 0 > /dev/null && restore_quota= || fail "partner quota back to none"
expect_firing LindungPartnerEventsNotApplied lindung-decrypt 10
quiet_elsewhere=$(prom_query 'ALERTS{alertname="LindungPartnerEventsNotApplied", job!="lindung-decrypt"}' | jq length)
[ "$quiet_elsewhere" = 0 ] && pass "instances that read partner.events stay quiet" ||
  fail "LindungPartnerEventsNotApplied for instances that apply the events"
topic_read_acl add lindung-decrypt partner.events && restore_acl= || fail "give decrypt's Read ACL back"

# ---- what partners send is not a request ----------------------------------
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
