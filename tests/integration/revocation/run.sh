#!/usr/bin/env bash
# Revocation and the partner lifecycle against the running stack:
#   - every bad admin request gets its HTTP status and a JSON error, and
#     changes nothing (registry version and rows unchanged);
#   - it_revocation: revoke under load, reinstate, key rotation, system key
#     rotation under load, quota (see it_revocation.c);
#   - an ingest started after the revocation answers PARTNER_REVOKED itself;
#   - every change, applied or refused, is in the audit trail, under the
#     operator whose token made it (an X-Lindung-Actor header changes nothing);
#   - operators: one added with `lindungctl operator add` works, one removed
#     is refused;
#   - the admin API speaks HTTPS only (plain HTTP and unknown CAs get
#     nothing); plain HTTP only on loopback, elsewhere it refuses to start;
#   - no admin token or key material in any log.
# Uses its own partner (it-rev-<random>) so other scenarios are not touched.
# Leaves a second active system key behind (the old one keeps working for
# an hour): rotation is one-way by design.
set -uo pipefail
# shellcheck disable=SC1091
. "$LINDUNG_RUN_DIR/stack.env"
root=$LINDUNG_SOURCE_DIR
bin=$LINDUNG_BIN_DIR
# shellcheck disable=SC1091
. "$root/tests/integration/lib.sh"
lindung_ensure_seeded
export PATH=/usr/lib/postgresql/15/bin:$PATH

failures=0
checks=0
pass() { checks=$((checks + 1)); }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL: $*" >&2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
: "${LINDUNG_ADMIN_URL:?the stack must export LINDUNG_ADMIN_URL}"
# This test's own operator: the actor of everything it changes.
"$bin/lindungctl" operator add it.revocation --token-file "$tmp/it.token" > /dev/null ||
  fail "operator add it.revocation"
export LINDUNG_ADMIN_TOKEN_FILE=$tmp/it.token
token=$(cat "$LINDUNG_ADMIN_TOKEN_FILE")
q() { psql "$LINDUNG_DB_URL" -X -q -tA -c "$1"; }
state() {
  q "SELECT (SELECT version FROM registry_version) || ' ' || (SELECT count(*) FROM partners) || ' ' ||
     (SELECT count(*) FROM partner_keys) || ' ' || (SELECT count(*) FROM system_keys WHERE status = 'active') || ' ' ||
     (SELECT md5(string_agg(partner_id || status || coalesce(rate_per_s, 0), ',' ORDER BY partner_id)) FROM partners)"
}

# api <expected status> <expected error code or -> <method> <path> [body] [extra curl args...]
api() {
  local want=$1 code=$2 method=$3 path=$4 body=${5:-} status
  shift 5 2> /dev/null || shift $#
  status=$(curl -s --cacert "$LINDUNG_ADMIN_CACERT" -o "$tmp/body" -w '%{http_code}' -X "$method" -H 'Content-Type: application/json' \
    "$@" --data-binary "$body" "$LINDUNG_ADMIN_URL$path")
  if [ "$status" != "$want" ]; then
    fail "$method $path: HTTP $status, expected $want ($(head -c 200 "$tmp/body"))"
    return
  fi
  if [ "$code" != - ] && ! python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"]==sys.argv[2] and d["message"], d' "$tmp/body" "$code" 2> /dev/null; then
    fail "$method $path: body is not {\"error\":\"$code\",\"message\":...}: $(head -c 200 "$tmp/body")"
    return
  fi
  pass
}
auth=(-H "Authorization: Bearer $token")
# The service re-reads the operators file at most once a second.
for _ in $(seq 50); do
  [ "$(curl -s --cacert "$LINDUNG_ADMIN_CACERT" -o /dev/null -w '%{http_code}' "${auth[@]}" \
    "$LINDUNG_ADMIN_URL/v1/nothing")" = 404 ] && break
  sleep 0.2
done

pid=it-rev-bad-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
pk=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
echo "== bad admin input"
"$bin/lindungctl" partner add "$pid" --name "Bad Input Partner" --key-id 1 --public-key "$pk" > /dev/null ||
  fail "partner add through the API"
before=$(state)
api 401 unauthorized POST "/v1/partners/$pid/revoke" '{"reason":"no token"}'
# The right token with its last character changed (to 0, or to 1 if it was 0).
wrong=${token%?}0
[ "$wrong" != "$token" ] || wrong=${token%?}1
api 401 unauthorized POST "/v1/partners/$pid/revoke" '{"reason":"wrong token"}' -H "Authorization: Bearer $wrong"
api 401 unauthorized POST "/v1/partners/$pid/revoke" '{"reason":"wrong scheme"}' -H "Authorization: Basic $token"
api 404 unknown_partner POST "/v1/partners/it-rev-nobody/revoke" '{"reason":"x"}' "${auth[@]}"
api 404 unknown_partner PUT "/v1/partners/it-rev-nobody/quota" '{"rate":5}' "${auth[@]}"
api 404 unknown_partner POST "/v1/partners/it-rev-nobody/keys" "{\"key_id\":2,\"public_key\":\"$pk\"}" "${auth[@]}"
api 404 unknown_key POST "/v1/partners/$pid/keys/9/revoke" '' "${auth[@]}"
api 409 key_in_use POST "/v1/partners/$pid/keys" "{\"key_id\":1,\"public_key\":\"$pk\"}" "${auth[@]}"
api 409 partner_exists POST /v1/partners "{\"partner_id\":\"$pid\",\"name\":\"x\",\"key_id\":1,\"public_key\":\"$pk\"}" "${auth[@]}"
long=$(head -c 401 /dev/zero | tr '\0' r)
api 400 reason_too_long POST "/v1/partners/$pid/revoke" "{\"reason\":\"$long\"}" "${auth[@]}"
api 400 missing_field POST "/v1/partners/$pid/revoke" '{}' "${auth[@]}"
api 400 malformed_json POST "/v1/partners/$pid/revoke" '{"reason":"x"' "${auth[@]}"
api 400 malformed_json POST "/v1/partners/$pid/revoke" '{"reason":["x"]}' "${auth[@]}"
api 400 unknown_field POST "/v1/partners/$pid/revoke" '{"reason":"x","force":1}' "${auth[@]}"
api 400 invalid_field PUT "/v1/partners/$pid/quota" '{"rate":"many"}' "${auth[@]}"
api 405 method_not_allowed GET "/v1/partners/$pid/revoke" '' "${auth[@]}"
api 404 not_found POST /v1/nothing '{}' "${auth[@]}"
big=$(head -c 20000 /dev/zero | tr '\0' a)
api 413 body_too_large POST "/v1/partners/$pid/revoke" "{\"reason\":\"$big\"}" "${auth[@]}"
if [ "$(state)" = "$before" ]; then pass; else fail "bad admin input changed the registry: '$before' -> '$(state)'"; fi
# The last usable system key cannot be rotated away.
active=$(q "SELECT count(*) FROM system_keys WHERE status = 'active'")
if [ "$active" = 1 ]; then
  api 409 last_system_key POST /v1/system-keys/rotate '{"grace_s":60}' "${auth[@]}"
  if [ "$(state)" = "$before" ]; then pass; else fail "refused rotation changed the registry"; fi
fi
# A client cannot name someone else as the actor: the header is ignored.
api 200 - POST "/v1/partners/$pid/revoke" '{"reason":"bad input partner done"}' "${auth[@]}" -H 'X-Lindung-Actor: mallory'

echo "== lifecycle under load"
nik=$(awk -F, '$2 == "green" { print $1; exit }' "$LINDUNG_RUN_DIR/seed/people.csv")
venue=$(q "SELECT venue_id FROM venues WHERE category = 'transport' AND capacity IS NULL ORDER BY venue_id LIMIT 1")
[ -n "$nik" ] && [ -n "$venue" ] || fail "no seeded green person or unlimited transport venue"
# A new system key, placed where decrypt reads keys; rotated to by the driver.
"$bin/lindungctl" system-key create --secret-out "$LINDUNG_SYSTEM_KEY_DIR/incoming.tmp" > "$tmp/newkey" ||
  fail "system-key create"
read -r NEW_SYSTEM_KEY_ID NEW_SYSTEM_PUBLIC_KEY < "$tmp/newkey"
mv "$LINDUNG_SYSTEM_KEY_DIR/incoming.tmp" "$LINDUNG_SYSTEM_KEY_DIR/system-$NEW_SYSTEM_KEY_ID.key"
export NEW_SYSTEM_KEY_ID NEW_SYSTEM_PUBLIC_KEY
if "$LINDUNG_TEST_BIN_DIR/it_revocation" live "$tmp/state" "$nik" "$venue"; then
  pass
else
  fail "it_revocation live"
fi
read -r partner _ < "$tmp/state" || partner=""

echo "== a service started after the revocation"
metric() { curl -s "http://$LINDUNG_INGEST_HTTP/metrics" | awk -v k="$1" '$1 == k { print $2 }'; }
LINDUNG_NO_BUILD=1 "$root/scripts/stack" restart lindung-ingest || fail "restart ingest"
m_before=$(metric 'lindung_requests_total{outcome="partner_revoked"}')
if "$LINDUNG_TEST_BIN_DIR/it_revocation" after-restart "$tmp/state"; then pass; else fail "it_revocation after-restart"; fi
m_after=$(metric 'lindung_requests_total{outcome="partner_revoked"}')
if [ "$(( ${m_after%.*} - ${m_before:-0} ))" -ge 5 ] 2> /dev/null; then
  pass
else
  fail "the restarted ingest did not answer PARTNER_REVOKED itself (metric ${m_before:-none} -> ${m_after:-none})"
fi
applied=$(curl -s "http://$LINDUNG_INGEST_HTTP/metrics" | grep -c '^lindung_partner_event_last_applied_timestamp_seconds')
[ "$applied" -ge 1 ] && pass || fail "ingest does not export lindung_partner_event_last_applied_timestamp_seconds"

echo "== audit trail"
if [ -n "${LINDUNG_AUDIT_HTTP:-}" ] && [ -n "$partner" ]; then
  aq() { psql "$LINDUNG_AUDIT_ADMIN_DB_URL" -X -q -tA -c "$1"; }
  want="partner_add partner_revoke partner_reinstate key_add key_revoke system_key_rotate partner_quota"
  for _ in $(seq 50); do
    n=$(aq "SELECT count(*) FROM audit_records WHERE stage = 4 AND partner_id = '$partner' AND outcome = 5")
    [ "$n" -ge 9 ] && break
    sleep 0.2
  done
  got=$(aq "SELECT string_agg(DISTINCT split_part(detail, ' ', 1), ' ') FROM audit_records
            WHERE stage = 4 AND outcome = 5 AND (partner_id = '$partner' OR detail LIKE 'system_key_rotate%')")
  for op in $want; do
    case " $got " in *" $op "*) pass ;; *) fail "audit trail lacks an applied $op (has: $got)" ;; esac
  done
  n=$(aq "SELECT count(*) FROM audit_records WHERE stage = 4 AND outcome = 5 AND partner_id = '$partner'
          AND actor = 'it.revocation' AND detail LIKE 'partner_revoke%reason=integration test: leak drill'")
  [ "$n" = 1 ] && pass || fail "the revocation's actor and reason are not in the audit trail ($n)"
  # Failed authentications are summed up, one record per interval (2 s).
  for _ in $(seq 50); do
    n=$(aq "SELECT coalesce(sum(substring(detail from 'attempts=([0-9]+)')::int), 0) FROM audit_records
            WHERE stage = 4 AND outcome = 6 AND actor = 'unauthenticated' AND detail LIKE 'unauthorized attempts=%'")
    [ "$n" -ge 3 ] && break
    sleep 0.2
  done
  [ "$n" -ge 3 ] && pass || fail "three unauthorized attempts should be in an audit summary, found $n"
  n=$(aq "SELECT count(*) FROM audit_records WHERE stage = 4 AND partner_id = '$pid' AND outcome = 5
          AND detail LIKE 'partner_revoke%' AND actor = 'it.revocation'")
  [ "$n" = 1 ] && pass || fail "the revoke sent with X-Lindung-Actor: mallory is not under it.revocation ($n)"
  n=$(aq "SELECT count(*) FROM audit_records WHERE actor = 'mallory'")
  [ "$n" = 0 ] && pass || fail "a client-sent actor reached the audit trail ($n)"
  for code in unknown_partner key_in_use reason_too_long malformed_json; do
    n=$(aq "SELECT count(*) FROM audit_records WHERE stage = 4 AND outcome = 6 AND detail LIKE '%refused=$code%'")
    [ "$n" -ge 1 ] && pass || fail "refused $code not audited"
  done
else
  echo "skip: no audit service in this stack"
fi

echo "== operators"
"$bin/lindungctl" operator add it.revocation --token-file "$tmp/again.token" > /dev/null 2> "$tmp/err"
[ $? = 1 ] && grep -q "exists" "$tmp/err" && [ ! -e "$tmp/again.token" ] && pass ||
  fail "a second operator of the same name was not refused"
"$bin/lindungctl" operator list > "$tmp/ops" && grep -qx stack-admin "$tmp/ops" && grep -qx it.revocation "$tmp/ops" &&
  ! grep -q "$token" "$LINDUNG_ADMIN_OPERATORS_FILE" && pass || fail "operator list or the file holds a token"
"$bin/lindungctl" operator remove it.revocation > /dev/null || fail "operator remove"
for _ in $(seq 50); do
  [ "$(curl -s --cacert "$LINDUNG_ADMIN_CACERT" -o /dev/null -w '%{http_code}' "${auth[@]}" \
    "$LINDUNG_ADMIN_URL/v1/nothing")" = 401 ] && break
  sleep 0.2
done
api 401 unauthorized PUT "/v1/partners/$pid/quota" '{"rate":5}' "${auth[@]}"
"$bin/lindungctl" partner quota "$pid" --rate 5 > /dev/null 2> "$tmp/err"
[ $? = 1 ] && grep -q "HTTP 401" "$tmp/err" && pass || fail "a removed operator's lindungctl was not refused"

echo "== HTTPS only"
port=${LINDUNG_ADMIN_URL##*:}
curl -s -o /dev/null "http://127.0.0.1:$port/v1/nothing"
rc=$?
[ "$rc" = 52 ] || [ "$rc" = 56 ] && pass || fail "plain HTTP got an answer from the TLS port (curl exit $rc)"
curl -s -o /dev/null "${auth[@]}" "$LINDUNG_ADMIN_URL/v1/nothing"
[ $? = 60 ] && pass || fail "curl without the stack's CA did not refuse the certificate"
(unset LINDUNG_ADMIN_CACERT; "$bin/lindungctl" partner quota "$pid" --rate 5 > /dev/null 2> "$tmp/err")
[ $? = 1 ] && pass || fail "lindungctl trusted the admin API without a CA"
"$bin/lindungctl" --cacert "$LINDUNG_ADMIN_CACERT" operator list > /dev/null && pass || fail "--cacert is taken anywhere"
LINDUNG_ADMIN_URL=http://10.0.0.1:$port "$bin/lindungctl" partner quota "$pid" --rate 5 > /dev/null 2> "$tmp/err"
[ $? = 2 ] && grep -q "loopback" "$tmp/err" && pass || fail "lindungctl sent a token over plain HTTP off loopback"
# Without a certificate the service serves plain HTTP on loopback only.
# revocation_alone <admin addr>: a second revocation, without TLS, for at most 20 s.
revocation_alone=(env -u LINDUNG_ADMIN_TLS_CERT_FILE -u LINDUNG_ADMIN_TLS_KEY_FILE
  "LINDUNG_DB_URL=$LINDUNG_REVOCATION_DB_URL" LINDUNG_HTTP_ADDR=127.0.0.1:0 timeout 20 "$bin/lindung-revocation")
LINDUNG_ADMIN_ADDR=0.0.0.0:0 "${revocation_alone[@]}" > "$tmp/alone.log" 2>&1
rc=$?
[ "$rc" = 1 ] && grep -q "loopback only" "$tmp/alone.log" && pass ||
  fail "revocation without TLS on 0.0.0.0 did not refuse to start (exit $rc): $(tail -1 "$tmp/alone.log")"
LINDUNG_ADMIN_ADDR=127.0.0.1:0 "${revocation_alone[@]}" > "$tmp/alone.log" 2>&1 &
alone=$!
for _ in $(seq 100); do grep -q '"admin_listening"' "$tmp/alone.log" 2> /dev/null && break; sleep 0.1; done
alone_port=$(sed -n 's/.*"admin_listening".*"admin_port":\([0-9]*\).*/\1/p' "$tmp/alone.log")
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:${alone_port:-1}/v1/partners/$pid/revoke")
[ "$status" = 401 ] && pass || fail "plain HTTP on loopback without a certificate: HTTP $status"
kill -TERM "$alone" 2> /dev/null
wait "$alone" 2> /dev/null

echo "== no admin token or key material in any log"
if grep -qF "$token" "$LINDUNG_RUN_DIR"/logs/*.log; then fail "the admin token appears in a log"; else pass; fi
if grep -qF "$pk" "$LINDUNG_RUN_DIR"/logs/*.log; then fail "a partner public key appears in a log"; else pass; fi

echo "revocation: $checks checks, $failures failed" >&2
[ "$failures" -eq 0 ]
