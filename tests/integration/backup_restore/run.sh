#!/usr/bin/env bash
# integration.backup_restore: the runbook's backup and restore
# (docs/operations.md, "Back up and restore the databases"), step by step,
# on the test stack: pg_dump both databases as their owner, stop the
# services, wipe both databases, restore them with pg_restore --create as
# the superuser, then check that every table holds the same rows, that
# `lindung-audit verify` passes, that the audit database still refuses the
# data services' roles, and that the services run on the restored data.
set -uo pipefail
: "${LINDUNG_RUN_DIR:?}" "${LINDUNG_BIN_DIR:?}" "${LINDUNG_SOURCE_DIR:?}" "${LINDUNG_TEST_BIN_DIR:?}"
# shellcheck disable=SC1091
. "$LINDUNG_RUN_DIR/stack.env"
# shellcheck disable=SC1091
. "$LINDUNG_SOURCE_DIR/tests/integration/lib.sh"
stack=$LINDUNG_SOURCE_DIR/scripts/stack
services=(lindung-audit lindung-revocation lindung-status-resolver lindung-decrypt lindung-ingest)

failures=0
checks=0
pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*" >&2; }
note() { echo "backup_restore: $*"; }
tmp=$(mktemp -d)
restart_all() { for s in "${services[@]}"; do LINDUNG_NO_BUILD=1 "$stack" start "$s" > /dev/null 2>&1; done; }
trap 'restart_all; rm -rf "$tmp"' EXIT

url() { echo "postgresql://$1@127.0.0.1:$LINDUNG_PG_PORT/$2?passfile=$LINDUNG_PG_PASSFILE"; }
super() {
  runuser -u postgres -- "$LINDUNG_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -tA -h "$LINDUNG_PG_SOCKET_DIR" \
    -p "$LINDUNG_PG_PORT" -U postgres "$@"
}
# Every table of a database, its row count and a digest of its rows.
fingerprint() {
  local db=$1 table
  for table in $(super -d "$db" -c "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"); do
    echo "$table $(super -d "$db" -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '-') FROM $table t")"
  done
}
wait_for() { # what seconds command...
  local what=$1 deadline=$(($(date +%s) + $2))
  shift 2
  until "$@"; do
    [ "$(date +%s)" -ge "$deadline" ] && { fail "$what: not within ${deadline}s"; return 1; }
    sleep 0.2
  done
}

# Something in both databases: the seed in lindung, this run's records
# (signed by a checkpoint) in the audit chain.
lindung_ensure_seeded
run=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
"$LINDUNG_TEST_BIN_DIR/it_audit" produce "$LINDUNG_KAFKA_BROKERS" "$run" 200 0 > /dev/null || fail "produce audit events"
audit_q() { super -d lindung_audit -c "$1"; }
appended() { [ "$(audit_q "SELECT count(*) FROM audit_records WHERE substr(request_id, 1, 8) = '\\x$run'::bytea")" = 600 ]; }
wait_for "audit records appended" 60 appended
signed() { [ "$(audit_q "SELECT coalesce(max(seq), 0) FROM audit_checkpoints")" = "$(audit_q "SELECT max(seq) FROM audit_records")" ]; }
wait_for "head signed" 30 signed

# Stop every writer (so the fingerprint is what the dumps hold), then back
# up as the owner: the same pg_dump that runs online.
for s in "${services[@]}"; do "$stack" stop "$s" > /dev/null 2>&1 || fail "stop $s"; done
for db in lindung lindung_audit; do fingerprint "$db" > "$tmp/$db.before"; done
[ "$(wc -l < "$tmp/lindung.before")" -ge 5 ] && pass || fail "lindung has $(wc -l < "$tmp/lindung.before") tables"
grep -q '^audit_records [1-9]' "$tmp/lindung_audit.before" && pass || fail "no audit records to restore"
t0=$(date +%s%3N)
for db in lindung lindung_audit; do
  owner=lindung_admin; [ "$db" = lindung_audit ] && owner=lindung_audit_admin # one owner per database
  "$LINDUNG_PG_BIN/pg_dump" --format=custom --file="$tmp/$db.dump" "$(url "$owner" "$db")" || fail "pg_dump $db"
  "$LINDUNG_PG_BIN/pg_restore" --list "$tmp/$db.dump" > /dev/null || fail "$db.dump does not read back"
done
note "dumped both databases in $(($(date +%s%3N) - t0)) ms: $(du -ch "$tmp"/*.dump | tail -1 | cut -f1)"

# Wipe.
for db in lindung lindung_audit; do super -d postgres -c "DROP DATABASE $db WITH (FORCE)" || fail "drop $db"; done
[ -z "$(super -d postgres -c "SELECT datname FROM pg_database WHERE datname IN ('lindung', 'lindung_audit')")" ] &&
  pass || fail "databases still there after the wipe"

# Restore, as the runbook says (the superuser; --create brings back the
# owner and the database-level grants).
t0=$(date +%s%3N)
for db in lindung lindung_audit; do
  runuser -u postgres -- "$LINDUNG_PG_BIN/pg_restore" --create --exit-on-error --dbname=postgres \
    -h "$LINDUNG_PG_SOCKET_DIR" -p "$LINDUNG_PG_PORT" -U postgres < "$tmp/$db.dump" || fail "pg_restore $db"
done
note "restored both databases in $(($(date +%s%3N) - t0)) ms"
for db in lindung lindung_audit; do
  fingerprint "$db" > "$tmp/$db.after"
  if cmp -s "$tmp/$db.before" "$tmp/$db.after"; then pass; else
    fail "$db differs after the restore: $(diff "$tmp/$db.before" "$tmp/$db.after" | head -3 | tr '\n' ' ')"
  fi
done
note "$(grep -c . "$tmp/lindung.after") tables in lindung, $(grep -c . "$tmp/lindung_audit.after") in lindung_audit restored identically"
if out=$("$LINDUNG_BIN_DIR/lindung-audit" verify 2>&1) && grep -q "intact" <<< "$out"; then pass; note "$out"; else fail "verify after the restore: $out"; fi
if "$LINDUNG_PG_BIN/psql" "$(url lindung_ingest lindung_audit)" -X -tAc "SELECT 1" > /dev/null 2> "$tmp/err"; then
  fail "lindung_ingest connects to the restored lindung_audit"
elif grep -q "permission denied" "$tmp/err"; then pass; else fail "lindung_ingest on lindung_audit: $(head -1 "$tmp/err")"; fi
[ "$(super -d postgres -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'lindung_audit'")" = lindung_audit_admin ] &&
  pass || fail "restored lindung_audit is not owned by lindung_audit_admin"

# The services run on the restored data, and the audit service's own check
# agrees with verify.
restart_all
for s in "${services[@]}"; do
  [ -f "$LINDUNG_RUN_DIR/pids/$s.pid" ] && kill -0 "$(cat "$LINDUNG_RUN_DIR/pids/$s.pid")" 2> /dev/null && pass || fail "$s not running again"
done
checked() {
  curl -fsS "http://$LINDUNG_AUDIT_HTTP/metrics" > "$tmp/metrics" 2> /dev/null || return 1
  [ "$(awk '$1 == "lindung_audit_chain_verified" {print $2 + 0}' "$tmp/metrics")" = 1 ] &&
    [ "$(awk '$1 == "lindung_audit_chain_verified_seq" {printf "%d", $2}' "$tmp/metrics")" = \
      "$(audit_q "SELECT max(seq) FROM audit_records")" ]
}
wait_for "restored chain checked by the running service" 60 checked

echo "integration.backup_restore: $checks checks, $failures failed"
[ "$failures" = 0 ]
