#!/usr/bin/env bash
# integration.audit: the audit service, `lindung-audit verify` and
# lindung-audit-tail against the stack (devbroker + PostgreSQL + the running
# lindung-audit). Synthetic AuditEvents (with duplicates and garbage) go to
# audit.events through it_audit; then:
#  - one record per (request_id, stage), the admin event too; garbage is
#    dead-lettered with its reason; the same events sent again add nothing;
#  - verify passes on the database and on a capture of audit.log;
#  - the running service's own check: a record edited in place by the
#    database owner turns lindung_audit_chain_verified to 0 within a minute;
#  - on a scratch copy of the tables, edited as superuser with triggers
#    off: an edited, a deleted, a reordered row, a rewritten-and-rehashed
#    tail and a forged checkpoint each make verify name the right seq;
#  - separation: data-service roles cannot connect to lindung_audit, the
#    audit role cannot connect to lindung nor change its own rows;
#  - PostgreSQL stopped mid-run: /readyz says not ready, nothing is lost
#    once it is back; the service killed (-9) mid-run: redelivery adds no
#    duplicate and audit.log stays complete; a graceful stop signs the head.
# Prints figures (append throughput, lag); asserts no timings.
set -uo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
: "${LINDUNG_AUDIT_HTTP:?the stack did not start lindung-audit}"
psql_bin=$LINDUNG_PG_BIN/psql
drv=$LINDUNG_TEST_BIN_DIR/it_audit
audit=$LINDUNG_BIN_DIR/lindung-audit
tail_bin=$LINDUNG_BIN_DIR/lindung-audit-tail
stack=$LINDUNG_SOURCE_DIR/scripts/stack
export LINDUNG_BIN_DIR

check_eq() { # what got expected
  if [ "$2" = "$3" ]; then pass; else fail "$1: expected '$3', got '$2'"; fi
}

tmp=$(mktemp -d)
scratch=lindung_audit_it_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
cleanup() {
  super -d postgres -c "DROP DATABASE IF EXISTS $scratch" > /dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

url() { echo "postgresql://$1@127.0.0.1:$LINDUNG_PG_PORT/$2?passfile=$LINDUNG_PG_PASSFILE"; }
q() { "$psql_bin" "$1" -X -q -v ON_ERROR_STOP=1 -tA -c "$2"; }
qa() { q "$LINDUNG_AUDIT_DB_URL" "$1"; }
super() {
  runuser -u postgres -- "$psql_bin" -X -q -v ON_ERROR_STOP=1 -tA -h "$LINDUNG_PG_SOCKET_DIR" \
    -p "$LINDUNG_PG_PORT" -U postgres "$@"
}
now_ms() { date +%s%3N; }
metric() { curl -fsS "http://$LINDUNG_AUDIT_HTTP/metrics" 2> /dev/null | awk -v m="$1" '$1 == m {print $2}'; }
ready() { curl -fsS "http://$LINDUNG_AUDIT_HTTP/readyz" > /dev/null 2>&1; }

run=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
run_records() { # records of this run's requests (not the admin events)
  qa "SELECT count(*) FROM audit_records WHERE substr(request_id, 1, 8) = '\\x$run'::bytea"
}
admin_records() {
  qa "SELECT count(*) FROM audit_records WHERE stage = 4 AND detail = 'it-audit run $run'"
}
wait_for() { # what seconds command... : until the command succeeds
  local what=$1 secs=$2
  shift 2
  local deadline=$(($(date +%s) + secs))
  until "$@"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      fail "$what: not reached within ${secs}s"
      return 1
    fi
    sleep 0.2
  done
}
count_is() { [ "$(run_records 2> /dev/null)" = "$1" ]; }
admin_is() { [ "$(admin_records 2> /dev/null)" = "$1" ]; }
signed_up_to() { [ "$(qa "SELECT coalesce(max(seq), 0) FROM audit_checkpoints")" -ge "$1" ]; }

ready || wait_for "lindung-audit ready" 30 ready

# ---- 1. append, dedupe, dead letters -------------------------------------
requests=${AUDIT_IT_REQUESTS:-3000}
t0=$(now_ms)
"$drv" produce "$LINDUNG_KAFKA_BROKERS" "$run" "$requests" 2 > "$tmp/produce.out" || fail "produce"
expected=$((requests * 3))
wait_for "all $expected records appended" 120 count_is "$expected"
t1=$(now_ms)
produced=$(awk '$1 == "produced" {print $2}' "$tmp/produce.out")
note "appended $expected records from $produced events (duplicates included) in $((t1 - t0)) ms:" \
  "$((produced * 1000 / (t1 - t0 + 1))) events/s end to end"
lag=$(qa "SELECT round(avg(audit_epoch_us(appended_at) / 1000 - handled_at_ms)), max(audit_epoch_us(appended_at) / 1000 - handled_at_ms)
          FROM audit_records WHERE substr(request_id, 1, 8) = '\\x$run'::bytea")
note "lag from event to appended record: avg ${lag%%|*} ms, max ${lag##*|} ms (producer ran flat out)"
wait_for "admin event appended" 30 admin_is 1
check_eq "records per (request_id, stage) other than 1" \
  "$(qa "SELECT count(*) FROM (SELECT request_id, stage FROM audit_records
         WHERE substr(request_id, 1, 8) = '\\x$run'::bytea GROUP BY 1, 2 HAVING count(*) <> 1) d")" 0
check_eq "requests without all three stages" \
  "$(qa "SELECT count(*) FROM (SELECT request_id FROM audit_records
         WHERE substr(request_id, 1, 8) = '\\x$run'::bytea GROUP BY 1 HAVING count(DISTINCT stage) <> 3) d")" 0
check_eq "gapless seq" "$(qa "SELECT max(seq) - count(*) FROM audit_records")" 0

dead() { "$drv" deadletters "$LINDUNG_KAFKA_BROKERS" "$run" > "$tmp/dead.out" && grep -q "^unknown_stage $1\$" "$tmp/dead.out" && grep -q "^not_protobuf $1\$" "$tmp/dead.out"; }
wait_for "garbage dead-lettered (3 not_protobuf, 3 unknown_stage)" 30 dead 3 || cat "$tmp/dead.out" >&2
# The partner-facing signals read off the appended records.
answers=$(metric 'lindung_audit_answers_total{partner="grab"}')
if [ "${answers%.*}" -ge $(((requests + 1) / 3)) ] 2> /dev/null; then pass; else fail "answers to grab on /metrics: '$answers'"; fi
latencies=$(metric lindung_audit_verdict_latency_seconds_count)
if [ "${latencies%.*}" -ge "$requests" ] 2> /dev/null; then pass; else fail "verdict latencies observed: '$latencies'"; fi

# The same events again (new offsets, same request ids): nothing added but
# the new admin event (it has no request id: a hash of its bytes identifies
# it, and its handled_at differs).
dup_before=$(metric lindung_audit_duplicates_total)
"$drv" produce "$LINDUNG_KAFKA_BROKERS" "$run" "$requests" 0 > /dev/null || fail "produce again"
dups_seen() { [ "$(metric lindung_audit_duplicates_total | cut -d. -f1)" -ge $((${dup_before%.*} + expected)) ]; }
wait_for "resent events consumed" 120 dups_seen
check_eq "records after resending the same events" "$(run_records)" "$expected"
wait_for "second admin event" 30 admin_is 2
wait_for "garbage dead-lettered again" 30 dead 6 || cat "$tmp/dead.out" >&2

# Lag at a steady rate (the demo's order of magnitude), as a figure.
lag_run=$run
run=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
rate=${AUDIT_IT_RATE:-300}
delays() { # sum and count of both delay histograms
  curl -fsS "http://$LINDUNG_AUDIT_HTTP/metrics" | awk '
    $1 == "lindung_audit_arrival_delay_seconds_sum" {a = $2} $1 == "lindung_audit_arrival_delay_seconds_count" {n = $2}
    $1 == "lindung_audit_commit_delay_seconds_sum" {c = $2} END {print a, n, c}'
}
read -r arr0 n0 com0 <<< "$(delays)"
"$drv" produce "$LINDUNG_KAFKA_BROKERS" "$run" $((rate * 5)) 0 "$rate" > /dev/null || fail "paced produce"
wait_for "paced records appended" 60 count_is $((rate * 15))
read -r arr1 n1 com1 <<< "$(delays)"
note "$(awk -v a0="$arr0" -v a1="$arr1" -v n0="$n0" -v n1="$n1" -v c0="$com0" -v c1="$com1" 'BEGIN {
  n = n1 - n0; if (n < 1) n = 1
  printf "paced run, per event: Kafka timestamp -> arrival in lindung-audit %.0f ms, -> append committed %.0f ms", (a1 - a0) * 1000 / n, (c1 - c0) * 1000 / n }')"
lag=$(qa "SELECT round(avg(audit_epoch_us(appended_at) / 1000 - handled_at_ms)),
                 percentile_disc(0.99) WITHIN GROUP (ORDER BY audit_epoch_us(appended_at) / 1000 - handled_at_ms),
                 max(audit_epoch_us(appended_at) / 1000 - handled_at_ms)
          FROM audit_records WHERE substr(request_id, 1, 8) = '\\x$run'::bytea")
IFS='|' read -r lag_avg lag_p99 lag_max <<< "$lag"
note "lag at $((rate * 3)) events/s for 5 s: avg $lag_avg ms, p99 $lag_p99 ms, max $lag_max ms"
run=$lag_run

# ---- 2. verify, tail, capture ---------------------------------------------
# Let a checkpoint cover the head (LINDUNG_AUDIT_CHECKPOINT_S, default 10 s).
head=$(qa "SELECT max(seq) FROM audit_records")
wait_for "checkpoint of the head" 30 signed_up_to "$head"
if out=$("$audit" verify 2>&1); then pass; note "$out"; else fail "verify on the database: $out"; fi
check_eq "tail prints the run's records" "$("$tail_bin" | grep -c "\"request_id\":\"$run")" "$expected"
grab_resolve=$("$tail_bin" --partner grab --stage resolve --outcome answered | grep -c "\"request_id\":\"$run")
check_eq "tail filters (partner grab, stage resolve)" "$grab_resolve" $(((requests + 1) / 3))
check_eq "tail --venue" "$("$tail_bin" --venue venue-2 --stage ingest | grep -c "\"request_id\":\"$run")" $(((requests + 2) / 5))
check_eq "tail --until before the run" "$("$tail_bin" --until "$t0" | grep -c "\"request_id\":\"$run")" 0
check_eq "tail --since (ISO-8601) at the run" \
  "$("$tail_bin" --since "$(date -u -d "@$((t0 / 1000 - 1))" +%Y-%m-%dT%H:%M:%SZ)" | grep -c "\"request_id\":\"$run")" "$expected"
"$tail_bin" --raw > "$tmp/capture.hex"
if out=$("$audit" verify --capture "$tmp/capture.hex" 2>&1); then pass; note "$out"; else fail "verify --capture: $out"; fi
# A capture with one record left out (the 10th line, and every identical
# copy of it: a restarted audit service publishes recent records again).
grep -vxF -- "$(sed -n 10p "$tmp/capture.hex")" "$tmp/capture.hex" > "$tmp/capture-cut.hex"
out=$("$audit" verify --capture "$tmp/capture-cut.hex" 2>&1)
rc=$?
if [ $rc = 1 ] && grep -q "chain broken at seq" <<< "$out"; then pass; else fail "cut capture: rc $rc: $out"; fi
# No NIK-like values and no token columns reach the analysts.
check_eq "audit_records columns" "$(qa "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'audit_records'")" \
  "seq,request_id,stage,partner_id,outcome,error,kind,action,venue_id,decision,subject_pseudonym,sent_at_ms,received_at_ms,handled_at_ms,service,detail,actor,appended_at,prev_hash,hash"

# ---- 2b. the service checks its own chain -----------------------------------
# A record edited by the database owner (triggers switched off, as only the
# owner or a superuser can) turns lindung_audit_chain_verified to 0 within a
# minute, naming the seq; restored, the next full re-check clears it.
verified_up_to() { [ "$(metric lindung_audit_chain_verified_seq | cut -d. -f1)" -ge "$1" ] 2> /dev/null; }
wait_for "running check reached the head" 60 verified_up_to "$head"
check_eq "chain verified while intact" "$(metric lindung_audit_chain_verified)" 1
check_eq "no broken seq while intact" "$(metric lindung_audit_chain_broken_seq)" 0
k=$((head / 3))
as_owner() { q "$LINDUNG_AUDIT_ADMIN_DB_URL" "BEGIN; ALTER TABLE audit_records DISABLE TRIGGER audit_records_no_change;
  $1; ALTER TABLE audit_records ENABLE TRIGGER audit_records_no_change; COMMIT" > /dev/null; }
original=$(qa "SELECT service FROM audit_records WHERE seq = $k")
as_owner "UPDATE audit_records SET service = 'tampered' WHERE seq = $k" || fail "tamper as the owner"
t_tamper=$(now_ms)
broken() { [ "$(metric lindung_audit_chain_verified)" = 0 ]; }
if wait_for "lindung_audit_chain_verified 0 after editing seq $k" 60 broken; then
  note "edited record at seq $k (of $head) found by the running check in $(($(now_ms) - t_tamper)) ms"
  check_eq "broken seq on /metrics" "$(metric lindung_audit_chain_broken_seq)" "$k"
fi
grep -q '"event":"audit_chain_broken".*"seq":'"$k" "$LINDUNG_RUN_DIR/logs/lindung-audit.log" ||
  fail "no audit_chain_broken log line naming seq $k"
as_owner "UPDATE audit_records SET service = '$original' WHERE seq = $k" || fail "restore as the owner"
intact() { [ "$(metric lindung_audit_chain_verified)" = 1 ]; }
wait_for "lindung_audit_chain_verified 1 once restored" 90 intact

# ---- 3. tampering, on a scratch copy --------------------------------------
super -d postgres -c "CREATE DATABASE $scratch OWNER lindung_admin" > /dev/null
runuser -u postgres -- "$LINDUNG_PG_BIN/pg_dump" -h "$LINDUNG_PG_SOCKET_DIR" -p "$LINDUNG_PG_PORT" -U postgres \
  --no-owner lindung_audit > "$tmp/audit.sql" || fail "pg_dump"
super -d "$scratch" < "$tmp/audit.sql" > /dev/null || fail "restore into $scratch"
super -d "$scratch" -c "GRANT SELECT ON ALL TABLES IN SCHEMA public TO lindung_admin" > /dev/null
scratch_url=$(url lindung_admin "$scratch")
vs() { LINDUNG_AUDIT_DB_URL=$scratch_url "$audit" verify 2>&1; }
tamper() { # what expected-line sql
  super -d "$scratch" -c "BEGIN; SET LOCAL session_replication_role = replica; $3; COMMIT;" > /dev/null || fail "$1: tampering failed"
  local out rc
  out=$(vs)
  rc=$?
  if [ $rc = 1 ] && [ "$out" = "$2" ]; then pass; note "$1 -> $out"; else fail "$1: rc $rc, '$out' (expected '$2')"; fi
  super -d "$scratch" -c "BEGIN; SET LOCAL session_replication_role = replica;
    TRUNCATE audit_records, audit_checkpoints;
    INSERT INTO audit_records SELECT * FROM pristine_records;
    INSERT INTO audit_checkpoints SELECT * FROM pristine_checkpoints; COMMIT;" > /dev/null
}
super -d "$scratch" -c "CREATE TABLE pristine_records AS SELECT * FROM audit_records;
  CREATE TABLE pristine_checkpoints AS SELECT * FROM audit_checkpoints" > /dev/null
if out=$(vs); then pass; else fail "verify of the untouched copy: $out"; fi
k=$((head / 2))
cp_after=$(super -d "$scratch" -c "SELECT min(seq) FROM audit_checkpoints WHERE seq >= $k")
tamper "edited row" "verify: chain broken at seq $k: hash mismatch" \
  "UPDATE audit_records SET venue_id = 'elsewhere' WHERE seq = $k"
tamper "edited timestamp" "verify: chain broken at seq $k: hash mismatch" \
  "UPDATE audit_records SET appended_at = appended_at + interval '1 second' WHERE seq = $k"
tamper "deleted row" "verify: chain broken at seq $k: record missing" \
  "DELETE FROM audit_records WHERE seq = $k"
tamper "reordered rows" "verify: chain broken at seq $k: prev_hash does not match the previous record" \
  "UPDATE audit_records SET seq = seq + 1000000000000 WHERE seq IN ($k, $((k + 1)));
   UPDATE audit_records SET seq = CASE WHEN seq = 1000000000000 + $k THEN $((k + 1)) ELSE $k END
     WHERE seq > 1000000000000"
tamper "rewritten and rehashed after seq $k" \
  "verify: chain broken at seq $cp_after: does not match the signed checkpoint (chain rewritten)" \
  "UPDATE audit_records SET decision = 2 WHERE seq = $k;
   DO \$\$ DECLARE r record; prev bytea; BEGIN
     SELECT hash INTO prev FROM audit_records WHERE seq = $((k - 1));
     FOR r IN SELECT * FROM audit_records WHERE seq >= $k ORDER BY seq LOOP
       UPDATE audit_records SET prev_hash = prev, hash = sha256(prev || audit_canonical(r.seq, r.request_id,
         r.stage, r.partner_id, r.outcome, r.error, r.kind, r.action, r.venue_id, r.decision,
         r.subject_pseudonym, r.sent_at_ms, r.received_at_ms, r.handled_at_ms, r.service, r.detail,
         r.actor, audit_epoch_us(r.appended_at))) WHERE seq = r.seq RETURNING hash INTO prev;
     END LOOP; END \$\$"
tamper "forged checkpoint" "verify: chain broken at seq $cp_after: checkpoint signature invalid" \
  "UPDATE audit_checkpoints SET signature = set_byte(signature, 0, get_byte(signature, 0) # 1) WHERE seq = $cp_after"
tamper "removed tail" "verify: chain broken at seq $head: record missing (a signed checkpoint covers seq $head)" \
  "DELETE FROM audit_records WHERE seq >= $head"

# ---- 4. separation ---------------------------------------------------------
for role in lindung_ingest lindung_decrypt lindung_resolver lindung_revocation; do
  if q "$(url $role lindung_audit)" "SELECT 1" > /dev/null 2> "$tmp/err"; then
    fail "$role connected to lindung_audit"
  elif grep -q "permission denied" "$tmp/err"; then pass; else fail "$role: $(head -1 "$tmp/err")"; fi
done
if q "$(url lindung_audit lindung)" "SELECT 1" > /dev/null 2> "$tmp/err"; then
  fail "lindung_audit connected to lindung"
elif grep -q "permission denied" "$tmp/err"; then pass; else fail "audit role on lindung: $(head -1 "$tmp/err")"; fi
for sql in "UPDATE audit_records SET detail = 'x' WHERE seq = 1" "DELETE FROM audit_records WHERE seq = 1" \
           "TRUNCATE audit_records" "DELETE FROM audit_checkpoints"; do
  if qa "$sql" > /dev/null 2> "$tmp/err"; then fail "audit role may: $sql"; else pass; fi
done
check_eq "audit functions are SECURITY INVOKER" \
  "$(qa "SELECT count(*) FROM pg_proc WHERE proname LIKE 'audit\\_%' AND prosecdef")" 0

# ---- 5. PostgreSQL away mid-run -------------------------------------------
# Start it again with the options it runs with now (postmaster.opts is the
# server's own command line, quoted, after the program name).
pg_opts=$(sed -e 's/^[^ ]* //' "$LINDUNG_PG_DATA/postmaster.opts")
pg_log=$(dirname "$LINDUNG_PG_DATA")/server.log
run=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
"$drv" produce "$LINDUNG_KAFKA_BROKERS" "$run" 1000 1 > /dev/null &
producer=$!
runuser -u postgres -- "$LINDUNG_PG_BIN/pg_ctl" -D "$LINDUNG_PG_DATA" -m fast -w stop > /dev/null || fail "pg_ctl stop"
wait $producer || fail "produce during the outage"
not_ready() { ! ready; }
wait_for "/readyz not ready while PostgreSQL is down" 20 not_ready
runuser -u postgres -- "$LINDUNG_PG_BIN/pg_ctl" -D "$LINDUNG_PG_DATA" -l "$pg_log" -o "$pg_opts" -w -t 60 start > /dev/null ||
  fail "pg_ctl start"
wait_for "ready again" 60 ready
wait_for "no event lost across the outage (3000 records)" 120 count_is 3000
check_eq "one record per (request_id, stage) after the outage" \
  "$(qa "SELECT count(DISTINCT (request_id, stage)) FROM audit_records WHERE substr(request_id, 1, 8) = '\\x$run'::bytea")" 3000

# ---- 6. killed mid-run, then a graceful stop --------------------------------
run=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
"$drv" produce "$LINDUNG_KAFKA_BROKERS" "$run" 3000 1 > /dev/null &
producer=$!
sleep 0.3
killed=$(cat "$LINDUNG_RUN_DIR/pids/lindung-audit.pid")
kill -KILL "$killed"
wait $producer || fail "produce around the crash"
# Gone means reaped: until then its threads can still hold the socket
# open (longer under ASan). The stack's supervisor reaps it and may well
# have started the next one already, so its port is no sign.
gone() { ! kill -0 "$killed" 2> /dev/null; }
wait_for "the killed audit service is gone" 30 gone
"$stack" start lindung-audit > /dev/null 2>&1 || fail "restart lindung-audit"
wait_for "no event lost across the crash (9000 records)" 120 count_is 9000
check_eq "one record per (request_id, stage) after the crash" \
  "$(qa "SELECT count(*) FROM (SELECT request_id, stage FROM audit_records GROUP BY 1, 2 HAVING count(*) > 1) d")" 0
"$stack" restart lindung-audit > /dev/null 2>&1 || fail "graceful restart of lindung-audit"
check_eq "shutdown signed the head" "$(qa "SELECT max(seq) FROM audit_checkpoints")" "$(qa "SELECT max(seq) FROM audit_records")"
"$tail_bin" --raw > "$tmp/capture2.hex"
if out=$("$audit" verify --capture "$tmp/capture2.hex" 2>&1); then pass; note "after the crash: $out"; else fail "capture after the crash: $out"; fi
# audit.log holds every record since it began (the devbroker keeps topics in
# memory only, so it may begin after the database's first record).
"$tail_bin" > "$tmp/all.json"
first=$(head -1 "$tmp/all.json" | sed 's/.*"seq":\([0-9]*\).*/\1/')
last=$(tail -1 "$tmp/all.json" | sed 's/.*"seq":\([0-9]*\).*/\1/')
check_eq "audit.log reaches the chain head" "$last" "$(qa "SELECT max(seq) FROM audit_records")"
check_eq "audit.log has no gap" "$(wc -l < "$tmp/all.json")" $((last - first + 1))
if out=$("$audit" verify 2>&1); then pass; note "$out"; else fail "verify at the end: $out"; fi

# ---- 7. the database rewound under the running service ----------------------
# What an immediate restart under asynchronous commit, or a failover to a
# replica that lagged, does: the last records and checkpoints vanish while
# the service runs on. It must read the chain head again once it reconnects:
# its head, the records it appends next and the next checkpoint follow the
# database, and verify stays intact (no false tamper alarm).
old_head=$(qa "SELECT max(seq) FROM audit_records")
cut=$((old_head - 200))
super -d lindung_audit > /dev/null <<SQL || fail "rewinding the audit database"
BEGIN;
LOCK TABLE audit_records, audit_checkpoints IN ACCESS EXCLUSIVE MODE;
SELECT pg_terminate_backend(pid) FROM pg_stat_activity
 WHERE usename = 'lindung_audit' AND pid <> pg_backend_pid();
ALTER TABLE audit_records DISABLE TRIGGER USER;
ALTER TABLE audit_checkpoints DISABLE TRIGGER USER;
DELETE FROM audit_checkpoints WHERE seq > $cut;
DELETE FROM audit_records WHERE seq > $cut;
ALTER TABLE audit_records ENABLE TRIGGER USER;
ALTER TABLE audit_checkpoints ENABLE TRIGGER USER;
COMMIT;
SQL
run=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
"$drv" produce "$LINDUNG_KAFKA_BROKERS" "$run" 20 1 > /dev/null || fail "produce after the rewind"
wait_for "records appended after the rewind (60)" 60 count_is 60
db_head() { qa "SELECT max(seq) FROM audit_records"; }
head_follows_db() { [ "$(metric lindung_audit_chain_head_seq)" = "$(db_head)" ]; }
wait_for "the service's chain head follows the rewound database" 30 head_follows_db
new_head=$(db_head)
[ "$new_head" -lt "$old_head" ] && pass || fail "after the rewind the chain should restart below seq $old_head, head is $new_head"
wait_for "a checkpoint signs the rewound chain's head (seq $new_head)" 40 signed_up_to "$new_head"
if out=$("$audit" verify 2>&1); then pass; note "after the rewind: $out"; else fail "verify after the rewind: $out"; fi

it_done
