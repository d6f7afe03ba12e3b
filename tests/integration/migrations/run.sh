#!/usr/bin/env bash
# Migrations and least privilege, against the embedded stack's PostgreSQL:
#  - on a scratch pair of databases: the first `lindungctl db migrate` applies
#    every file (two concurrent runs apply each file once), the next applies 0;
#    audit rows refuse UPDATE, DELETE and TRUNCATE even to the owner;
#  - on the stack's databases: a further migrate applies 0; tables, roles,
#    seeded categories and settings exist; each service role can do what it
#    needs and nothing it does not.
set -uo pipefail

: "${LINDUNG_RUN_DIR:?}" "${LINDUNG_BIN_DIR:?}" "${LINDUNG_SOURCE_DIR:?}"
# shellcheck disable=SC1091
. "$LINDUNG_RUN_DIR/stack.env"
ctl=$LINDUNG_BIN_DIR/lindungctl
psql_bin=${LINDUNG_PG_BIN:-/usr/lib/postgresql/15/bin}/psql
: "${LINDUNG_PG_SOCKET_DIR:?the stack must export LINDUNG_PG_SOCKET_DIR}"

failures=0
checks=0
pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*" >&2; }

# URL of role on database, with the stack's passfile.
url() { echo "postgresql://$1@127.0.0.1:$LINDUNG_PG_PORT/$2?passfile=$LINDUNG_PG_PASSFILE"; }

q() { # url sql -> stdout; exit status of psql
  "$psql_bin" "$1" -X -q -v ON_ERROR_STOP=1 -tA -c "$2" 2> "$tmp/psql.err"
}

super() { # sql, as the postgres superuser over the local socket (peer auth)
  runuser -u postgres -- "$psql_bin" -X -q -v ON_ERROR_STOP=1 -tA -h "$LINDUNG_PG_SOCKET_DIR" \
    -p "$LINDUNG_PG_PORT" -U postgres -d postgres -c "$1"
}

expect_value() { # what url sql expected
  local got
  got=$(q "$2" "$3") || { fail "$1: query failed: $(head -1 "$tmp/psql.err")"; return; }
  if [ "$got" = "$4" ]; then pass; else fail "$1: expected '$4', got '$got'"; fi
}

expect_ok() { # what url sql
  if q "$2" "$3" > /dev/null; then pass; else fail "$1: $(head -1 "$tmp/psql.err")"; fi
}

expect_error() { # what url sql pattern  (must fail, with an error matching pattern)
  if q "$2" "$3" > /dev/null; then
    fail "$1: succeeded but must be refused"
  elif grep -qiE "$4" "$tmp/psql.err"; then
    pass
  else
    fail "$1: failed for another reason: $(head -1 "$tmp/psql.err")"
  fi
}

# Refused for lack of privilege (including CONNECT) or by the append-only triggers.
expect_denied() { expect_error "$1" "$2" "$3" 'permission denied|append-only'; }

tmp=$(mktemp -d)
scratch=lindung_mt_$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
cleanup() {
  super "DROP DATABASE IF EXISTS $scratch" > /dev/null 2>&1
  super "DROP DATABASE IF EXISTS ${scratch}_audit" > /dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT

file_count=$(find "$LINDUNG_SOURCE_DIR/db/migrations" -name '*.sql' | wc -l)
[ "$file_count" -ge 2 ] && pass || fail "expected migration files, found $file_count"

# --- scratch databases: first run applies everything, once -------------------
super "CREATE DATABASE $scratch OWNER lindung_admin" > /dev/null || fail "create $scratch"
super "CREATE DATABASE ${scratch}_audit OWNER lindung_audit_admin" > /dev/null || fail "create ${scratch}_audit"
scratch_env=(env "LINDUNG_DB_URL=$(url lindung_admin "$scratch")" "LINDUNG_AUDIT_DB_NAME=${scratch}_audit")

"${scratch_env[@]}" "$ctl" db migrate > "$tmp/m1" 2> "$tmp/m1.err" &
pid1=$!
"${scratch_env[@]}" "$ctl" db migrate > "$tmp/m2" 2> "$tmp/m2.err" &
pid2=$!
wait $pid1 && wait $pid2 && pass || fail "concurrent migrate failed: $(cat "$tmp/m1.err" "$tmp/m2.err")"
n1=$(sed -n 's/^\([0-9]*\) migrations applied$/\1/p' "$tmp/m1")
n2=$(sed -n 's/^\([0-9]*\) migrations applied$/\1/p' "$tmp/m2")
if [ -n "$n1" ] && [ -n "$n2" ] && [ $((n1 + n2)) -eq "$file_count" ]; then pass; else
  fail "two concurrent runs applied '$n1' + '$n2' files, expected $file_count in total"
fi
out=$("${scratch_env[@]}" "$ctl" db migrate 2>&1)
[ "$out" = "0 migrations applied" ] && pass || fail "second migrate printed: $out"

admin_scratch=$(url lindung_admin "$scratch")
admin_scratch_audit=$(url lindung_audit_admin "${scratch}_audit")
expect_value "schema_migrations rows (lindung)" "$admin_scratch" "SELECT count(*) FROM schema_migrations" \
  "$(find "$LINDUNG_SOURCE_DIR/db/migrations/lindung" -name '*.sql' | wc -l)"
expect_value "schema_migrations rows (audit)" "$admin_scratch_audit" "SELECT count(*) FROM schema_migrations" \
  "$(find "$LINDUNG_SOURCE_DIR/db/migrations/lindung_audit" -name '*.sql' | wc -l)"

# Append-only audit tables, even for their owner.
row="INSERT INTO audit_records (seq, request_id, stage, outcome, service, prev_hash, hash) VALUES
  (1, '\\x00112233445566778899aabbccddeeff', 1, 1, 'test', decode(repeat('00', 32), 'hex'), decode(repeat('11', 32), 'hex'))"
expect_ok "owner inserts an audit row" "$admin_scratch_audit" "$row"
expect_ok "owner inserts a checkpoint" "$admin_scratch_audit" \
  "INSERT INTO audit_checkpoints (seq, head_hash, public_key, signature) VALUES
   (1, decode(repeat('11', 32), 'hex'), decode(repeat('22', 32), 'hex'), decode(repeat('33', 64), 'hex'))"
expect_denied "owner UPDATE audit_records" "$admin_scratch_audit" "UPDATE audit_records SET detail = 'x'"
expect_denied "owner DELETE audit_records" "$admin_scratch_audit" "DELETE FROM audit_records"
expect_denied "owner TRUNCATE audit_records" "$admin_scratch_audit" "TRUNCATE audit_records CASCADE"
expect_denied "owner UPDATE audit_checkpoints" "$admin_scratch_audit" "UPDATE audit_checkpoints SET seq = 1"
expect_denied "owner DELETE audit_checkpoints" "$admin_scratch_audit" "DELETE FROM audit_checkpoints"
expect_denied "owner TRUNCATE audit_checkpoints" "$admin_scratch_audit" "TRUNCATE audit_checkpoints"
expect_value "audit rows survive" "$admin_scratch_audit" \
  "SELECT count(*) || ' ' || (SELECT count(*) FROM audit_checkpoints) FROM audit_records WHERE detail IS NULL" "1 1"
expect_error "duplicate (request_id, stage)" "$admin_scratch_audit" \
  "$(echo "$row" | sed 's/(1, /(2, /')" 'duplicate key'

# registry_version moves on every registry change.
v0=$(q "$admin_scratch" "SELECT version FROM registry_version")
expect_ok "insert a partner" "$admin_scratch" "INSERT INTO partners (partner_id, name) VALUES ('mt-partner', 'MT')"
v1=$(q "$admin_scratch" "SELECT version FROM registry_version")
[ -n "$v0" ] && [ "$v1" -gt "$v0" ] && pass || fail "registry_version did not move ($v0 -> $v1)"
expect_value "registry_version is one row" "$admin_scratch" "SELECT count(*) FROM registry_version" 1

# --- the stack's databases --------------------------------------------------
out=$("$ctl" db migrate 2>&1)
[ "$out" = "0 migrations applied" ] && pass || fail "migrate on the stack printed: $out"

admin=$LINDUNG_DB_URL
audit_admin=${LINDUNG_AUDIT_ADMIN_DB_URL:-$(url lindung_admin lindung_audit)}
for t in schema_migrations partners partner_keys system_keys registry_version venue_categories \
  settings venues people health_status tokens check_ins; do
  expect_value "table $t" "$admin" "SELECT to_regclass('public.$t') IS NOT NULL" t
done
for t in schema_migrations audit_records audit_checkpoints; do
  expect_value "table $t" "$audit_admin" "SELECT to_regclass('public.$t') IS NOT NULL" t
done
for r in lindung_ingest lindung_decrypt lindung_resolver lindung_revocation lindung_audit; do
  expect_value "role $r logs in" "$admin" "SELECT rolcanlogin AND NOT rolsuper FROM pg_roles WHERE rolname = '$r'" t
done
expect_value "venue categories" "$admin" \
  "SELECT string_agg(category || ':' || admits_green || admits_yellow || ':' || share_level2 || '/' ||
   share_level3 || '/' || share_level4 || ':' || children_under_12, ' ' ORDER BY category) FROM venue_categories" \
  "cinema:truefalse:70/50/25:with_parent_level2 mall:truetrue:70/50/25:with_parent_level2 office:truetrue:50/25/0:no restaurant:truetrue:75/50/25:yes tourism:truefalse:50/25/0:with_parent transport:truetrue:100/100/100:yes worship:truetrue:75/50/25:yes"
expect_value "ppkm level" "$admin" "SELECT value FROM settings WHERE name = 'ppkm_level'" 2
expect_value "audit triggers" "$audit_admin" \
  "SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('audit_records'::regclass, 'audit_checkpoints'::regclass) AND NOT tgisinternal AND tgenabled = 'O'" 4
expect_error "constraint: bad partner id" "$admin_scratch" \
  "INSERT INTO partners (partner_id, name) VALUES ('Bad_Id', 'x')" 'check constraint'
expect_error "constraint: key id 0" "$admin_scratch" \
  "INSERT INTO partner_keys (partner_id, key_id, public_key) VALUES ('mt-partner', 0, decode(repeat('00', 32), 'hex'))" 'check constraint'
expect_error "constraint: short public key" "$admin_scratch" \
  "INSERT INTO system_keys (key_id, public_key) VALUES (9, '\\x00')" 'check constraint'
expect_error "constraint: unknown colour" "$admin_scratch" \
  "WITH p AS (INSERT INTO people (nik_hash) VALUES (decode(repeat('ab', 32), 'hex')) RETURNING person_id)
   INSERT INTO health_status (person_id, status) SELECT person_id, 'blue' FROM p" 'check constraint'
expect_error "constraint: negative occupancy" "$admin_scratch" \
  "INSERT INTO venues (venue_id, name, category, occupancy) VALUES ('QR-X', 'x', 'mall', -1)" 'check constraint'
expect_error "constraint: unknown category" "$admin_scratch" \
  "INSERT INTO venues (venue_id, name, category) VALUES ('QR-X', 'x', 'spa')" 'foreign key'

ingest=${LINDUNG_INGEST_DB_URL:-$(url lindung_ingest lindung)}
decrypt=${LINDUNG_DECRYPT_DB_URL:-$(url lindung_decrypt lindung)}
resolver=${LINDUNG_RESOLVER_DB_URL:-$(url lindung_resolver lindung)}
revocation=${LINDUNG_REVOCATION_DB_URL:-$(url lindung_revocation lindung)}
audit=${LINDUNG_AUDIT_DB_URL:-$(url lindung_audit lindung_audit)}

# ingest and decrypt: the registry, read-only.
for role in ingest decrypt; do
  u=${!role}
  expect_ok "$role reads the registry" "$u" \
    "SELECT (SELECT count(*) FROM partners), (SELECT count(*) FROM partner_keys), (SELECT count(*) FROM system_keys), (SELECT version FROM registry_version)"
  expect_denied "$role reads people" "$u" "SELECT count(*) FROM people"
  expect_denied "$role reads health_status" "$u" "SELECT count(*) FROM health_status"
  expect_denied "$role reads tokens" "$u" "SELECT count(*) FROM tokens"
  expect_denied "$role writes partners" "$u" "UPDATE partners SET name = name WHERE false"
  expect_denied "$role inserts system keys" "$u" \
    "INSERT INTO system_keys (key_id, public_key) VALUES (4294967295, decode(repeat('00', 32), 'hex'))"
  expect_denied "$role creates a table" "$u" "CREATE TABLE intruder (x int)"
done

# resolver: health data read-only, tokens and check-ins, venue occupancy only.
expect_ok "resolver reads health data" "$resolver" \
  "SELECT (SELECT count(*) FROM people), (SELECT count(*) FROM health_status), (SELECT count(*) FROM venues),
   (SELECT count(*) FROM venue_categories), (SELECT count(*) FROM settings), (SELECT count(*) FROM partners)"
expect_ok "resolver updates occupancy" "$resolver" "UPDATE venues SET occupancy = occupancy WHERE false"
# Issuing is INSERT (through resolver_issue_token[s]); ending a token is revocation's.
expect_denied "resolver updates tokens" "$resolver" "UPDATE tokens SET revoked_at = NULL WHERE false"
expect_ok "resolver reads check-ins" "$resolver" "SELECT count(*) FROM check_ins"
expect_ok "resolver may use the check-in sequence" "$resolver" \
  "SELECT has_sequence_privilege('check_ins_id_seq', 'USAGE')"
expect_value "resolver may insert tokens" "$resolver" "SELECT has_table_privilege('tokens', 'INSERT')" t
expect_value "resolver may insert check-ins" "$resolver" "SELECT has_table_privilege('check_ins', 'INSERT')" t
expect_denied "resolver renames venues" "$resolver" "UPDATE venues SET name = name WHERE false"
expect_denied "resolver writes health status" "$resolver" "UPDATE health_status SET status = status WHERE false"
expect_denied "resolver inserts people" "$resolver" \
  "INSERT INTO people (nik_hash) VALUES (decode(repeat('00', 32), 'hex'))"
expect_denied "resolver deletes tokens" "$resolver" "DELETE FROM tokens WHERE false"
expect_denied "resolver reads partner keys" "$resolver" "SELECT count(*) FROM partner_keys"
expect_denied "resolver reads system keys" "$resolver" "SELECT count(*) FROM system_keys"
expect_denied "resolver changes categories" "$resolver" "UPDATE venue_categories SET admits_yellow = true WHERE false"

# revocation: the registry read-write, token revocation only.
expect_ok "revocation reads the registry" "$revocation" \
  "SELECT (SELECT count(*) FROM partners), (SELECT count(*) FROM partner_keys), (SELECT count(*) FROM system_keys), (SELECT version FROM registry_version)"
expect_ok "revocation updates partners" "$revocation" "UPDATE partners SET status = status WHERE false"
expect_ok "revocation revokes tokens" "$revocation" \
  "UPDATE tokens SET revoked_at = now() WHERE partner_id = 'no-such-partner' AND revoked_at IS NULL"
expect_value "revocation may insert partner keys" "$revocation" "SELECT has_table_privilege('partner_keys', 'INSERT')" t
expect_denied "revocation reads token owners" "$revocation" "SELECT person_id FROM tokens LIMIT 1"
expect_denied "revocation reads people" "$revocation" "SELECT count(*) FROM people"
expect_denied "revocation deletes partner keys" "$revocation" "DELETE FROM partner_keys WHERE false"
expect_denied "revocation reads health status" "$revocation" "SELECT count(*) FROM health_status"
expect_denied "revocation deletes partners" "$revocation" "DELETE FROM partners WHERE false"

# audit: its own database only, append and read only.
expect_ok "audit reads its tables" "$audit" "SELECT (SELECT count(*) FROM audit_records), (SELECT count(*) FROM audit_checkpoints)"
expect_value "audit may insert" "$audit" \
  "SELECT has_table_privilege('audit_records', 'INSERT') AND has_table_privilege('audit_checkpoints', 'INSERT')" t
expect_value "audit may not change" "$audit" \
  "SELECT has_table_privilege('audit_records', 'UPDATE') OR has_table_privilege('audit_records', 'DELETE') OR has_table_privilege('audit_records', 'TRUNCATE') OR has_table_privilege('audit_checkpoints', 'UPDATE')" f
expect_denied "audit connects to lindung" "$(url lindung_audit lindung)" "SELECT 1"
expect_denied "audit connects to a fresh lindung" "$(url lindung_audit "$scratch")" "SELECT 1"
for role in ingest decrypt resolver revocation; do
  expect_denied "$role connects to lindung_audit" "$(url "lindung_$role" lindung_audit)" "SELECT 1"
done
# A role outside Lindung may not connect at all (CONNECT revoked from PUBLIC).
for db_url in "$admin" "$audit_admin"; do
  expect_value "PUBLIC has no CONNECT" "$db_url" \
    "SELECT count(*) FROM pg_database, aclexplode(COALESCE(datacl, acldefault('d', datdba))) a
     WHERE datname = current_database() AND a.grantee = 0" 0
done

echo "migrations: $checks checks, $failures failed" >&2
[ "$failures" -eq 0 ]
