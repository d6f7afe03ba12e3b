#!/usr/bin/env bash
# integration.transient_failure: a transaction that fails for a passing
# reason is worked through again, and nothing it reported is lost.
#
# The status-resolver writes a batch (tokens, check-ins, the answer log) in
# one pipelined transaction. A deadlock with another instance (SQLSTATE
# 40P01, seen in a faults run) rolls all of it back, including writes whose
# own results had already come back OK: a partner was once handed a token
# that was then rolled back, and its scans were UNKNOWN_TOKEN for good.
#
# Here PostgreSQL itself fails the first insert into tokens, then into
# check_ins, with 40P01 and 40001 (a trigger drawing from a sequence, which
# a rollback does not rewind). The partner must still get a token that
# works, and a verdict, each recorded once, and the sequence shows the
# failure really happened before the retry.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
lindung_ensure_seeded

work=$(mktemp -d)
as_postgres() {
  runuser -u postgres -- "$LINDUNG_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -tA \
    -h "$LINDUNG_PG_SOCKET_DIR" -p "$LINDUNG_PG_PORT" -d lindung -c "$1"
}
disarm() {
  as_postgres "DROP TRIGGER IF EXISTS it_fail_once ON tokens;
               DROP TRIGGER IF EXISTS it_fail_once ON check_ins;
               DROP FUNCTION IF EXISTS it_fail_once();
               DROP SEQUENCE IF EXISTS it_fail_once_seq" > /dev/null
}
trap 'disarm || true; rm -rf "$work"' EXIT
disarm

# arm TABLE SQLSTATE: the next insert into TABLE fails once with SQLSTATE.
arm() {
  disarm
  as_postgres "CREATE SEQUENCE it_fail_once_seq;
    CREATE FUNCTION it_fail_once() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER AS \$\$
    BEGIN
      IF nextval('it_fail_once_seq') = 1 THEN
        RAISE EXCEPTION 'injected by integration.transient_failure' USING ERRCODE = '$2';
      END IF;
      RETURN NEW;
    END \$\$;
    GRANT EXECUTE ON FUNCTION it_fail_once() TO PUBLIC;
    CREATE TRIGGER it_fail_once BEFORE INSERT ON $1 FOR EACH ROW EXECUTE FUNCTION it_fail_once()" \
    > /dev/null
}
draws() { as_postgres "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM it_fail_once_seq"; }

gojek=$LINDUNG_RUN_DIR/partners/gojek
people=$LINDUNG_RUN_DIR/seed/people.csv
nik=$(awk -F, '$2 == "green" { print $1 }' "$people" | shuf -n 1)
venue=QR-MALL-0001
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"; }
q() { "$LINDUNG_PG_BIN/psql" "$LINDUNG_DB_URL" -X -q -tA -c "$1"; }

echo "== a deadlock on the token's insert: the Link is answered with a token that stands"
tokens_before=$(q "SELECT count(*) FROM tokens WHERE partner_id = 'gojek'")
arm tokens 40P01
"$LINDUNG_BIN_DIR/lindung-partner" link --nik "$nik" --partner-dir "$gojek" --timeout 20 \
  > "$work/link.json" 2> "$work/link.err" || true
token=$(json_get "$work/link.json" token 2> /dev/null || true)
case $token in
  lt1_*) pass "the Link got a token" ;;
  *) fail "link: $(json_get "$work/link.json" error 2> /dev/null) $(head -c 200 "$work/link.err")" ;;
esac
[ "$(draws)" -ge 2 ] && pass "the insert failed once, then ran again" || fail "no retry: draws $(draws)"
tokens_after=$(q "SELECT count(*) FROM tokens WHERE partner_id = 'gojek'")
[ "$tokens_after" -ge $((tokens_before + 1)) ] && pass "the token is on record" ||
  fail "the token is not on record ($tokens_before -> $tokens_after)"

echo "== a serialization failure on the check-in: the scan still gets its verdict, recorded once"
arm check_ins 40001
checkins_before=$(q "SELECT count(*) FROM check_ins WHERE partner_id = 'gojek'")
"$LINDUNG_BIN_DIR/lindung-partner" scan --token "$token" --venue "$venue" --partner-dir "$gojek" \
  --timeout 20 > "$work/scan.json" 2> "$work/scan.err" || true
decision=$(json_get "$work/scan.json" decision 2> /dev/null || true)
error=$(json_get "$work/scan.json" error 2> /dev/null || true)
[ "$decision" = ALLOW ] && pass "the scan was answered ALLOW" ||
  fail "scan: decision '$decision' error '$error' $(head -c 200 "$work/scan.err")"
[ "$(draws)" -ge 2 ] && pass "the check-in failed once, then ran again" || fail "no retry: draws $(draws)"
checkins_after=$(q "SELECT count(*) FROM check_ins WHERE partner_id = 'gojek'")
[ "$checkins_after" = $((checkins_before + 1)) ] && pass "one check-in recorded" ||
  fail "check-ins $checkins_before -> $checkins_after"
disarm
"$LINDUNG_BIN_DIR/lindung-partner" scan --check-out --token "$token" --venue "$venue" \
  --partner-dir "$gojek" --timeout 20 > /dev/null 2>&1 || true
it_done
