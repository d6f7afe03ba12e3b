#!/usr/bin/env bash
# Hostile partners and strangers (issue 17), each attack through the
# interface the attacker has, against the running stack on the real broker:
#   - a ~1 MB junk record on a partner's topic: every partner still answered;
#   - 10,000 requests on gojek's own topic naming grab: dead-lettered against
#     gojek, nothing answered to grab, none of grab's quota spent, no audit
#     record naming grab;
#   - the same request sent again: every copy answered REPLAYED and in the
#     audit trail (one record each);
#   - lindung-audit verify refuses to trust the key inside the data it checks;
#   - lindungctl over https trusts only the CA it is given (LINDUNG_ADMIN_CACERT);
#   - 1,000 unauthenticated admin requests and 200 slowloris connections
#     while an authorised revoke goes through; failed authentications are
#     audited as a few summaries, not one row each;
#   - a reader of scan.decrypted finds only sealed records, keyed by no
#     unkeyed hash of a NIK or token; the broker reports an hour's retention
#     at most for the internal topics;
#   - no NIK, token or response pad on any topic (the broker's segments), and
#     no NIK or token the attacks used in PostgreSQL's files or in any log.
set -uo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
root=$LINDUNG_SOURCE_DIR
bin=$LINDUNG_BIN_DIR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lindung_ensure_seeded

q() { psql "$LINDUNG_DB_URL" -X -q -tA -c "$1"; }
aq() { psql "$LINDUNG_AUDIT_ADMIN_DB_URL" -X -q -tA -c "$1"; }
secrets=$(mktemp)
pads=$(mktemp)
quota=$(q "SELECT coalesce(rate_per_s, 0) || ' ' || coalesce(burst, 0) FROM partners WHERE partner_id = 'grab'")
restore_quota() {
  # shellcheck disable=SC2086
  set -- $quota
  "$bin/lindungctl" partner quota grab --rate "${1:-0}" --burst "${2:-0}" > /dev/null 2>&1 ||
    "$bin/lindungctl" partner quota grab --rate 0 > /dev/null 2>&1
}
trap 'restore_quota; rm -f "$secrets" "$pads"' EXIT

echo "== a ~1 MB junk record on a partner's topic"
if "$LINDUNG_TEST_BIN_DIR/it_hostile" junk "$secrets"; then pass "every partner answered after the junk"; else fail "it_hostile junk"; fi

echo "== 10,000 requests on gojek's topic naming grab"
spoofs=10000
# A small bucket for grab: had the spoofs been charged to it, grab's own
# requests after them would be RATE_LIMITED.
"$bin/lindungctl" partner quota grab --rate 1 --burst 5 > /dev/null || fail "set grab's quota"
sleep 1.5 # services poll the registry version every 500 ms
# Only records of this attack count: anything earlier tests left trailing
# into the audit trail was received before it started.
since=$(date +%s%3N)
grab_before=$(aq "SELECT count(*) FROM audit_records WHERE partner_id = 'grab' AND received_at_ms >= $since")
gojek_before=$(aq "SELECT count(*) FROM audit_records WHERE partner_id = 'gojek' AND detail = 'partner_mismatch'")
if "$LINDUNG_TEST_BIN_DIR/it_hostile" spoof "$spoofs" "$secrets"; then
  pass "spoofs dead-lettered, none answered, grab's quota untouched"
else
  fail "it_hostile spoof"
fi
for _ in $(seq 300); do
  n=$(aq "SELECT count(*) FROM audit_records WHERE partner_id = 'gojek' AND detail = 'partner_mismatch'")
  [ $((n - gojek_before)) -ge "$spoofs" ] && break
  sleep 0.5
done
[ $((n - gojek_before)) = "$spoofs" ] && pass "$spoofs mismatches audited against gojek" ||
  fail "$((n - gojek_before)) of $spoofs mismatches audited against gojek"
# grab's own five Links: one ingest, decrypt and resolve record each.
for _ in $(seq 100); do
  g=$(aq "SELECT count(*) FROM audit_records WHERE partner_id = 'grab' AND received_at_ms >= $since")
  [ $((g - grab_before)) -ge 15 ] && break
  sleep 0.2
done
sleep 1
g=$(aq "SELECT count(*) FROM audit_records WHERE partner_id = 'grab' AND received_at_ms >= $since")
[ $((g - grab_before)) = 15 ] && pass "the audit trail names grab only for grab's own 5 requests" ||
  fail "$((g - grab_before)) new audit records name grab (want 15: its own 5 requests x 3 stages)"
restore_quota

echo "== a request sent again and again"
copies=3
out=$("$LINDUNG_TEST_BIN_DIR/it_hostile" replay "$copies" "$secrets") && pass "every copy answered REPLAYED" ||
  fail "it_hostile replay"
rid=$(sed -n 's/^replayed request id: //p' <<< "$out")
# Each copy has its own record (keyed by where it was read), naming the
# request it replays; redeliveries of one copy would stay one record.
for _ in $(seq 50); do
  n=$(aq "SELECT count(*) FROM audit_records WHERE stage = 2 AND error = 8 AND detail = 'replay_of=$rid'")
  [ "$n" -ge "$copies" ] && break
  sleep 0.2
done
[ -n "$rid" ] && [ "$n" = "$copies" ] && pass "$copies replays, $copies audit records" ||
  fail "$n audit records for $copies replays of $rid"

echo "== scan.decrypted as a reader of the topic sees it"
if "$LINDUNG_TEST_BIN_DIR/it_hostile" sealed 8 "$secrets" "$pads"; then
  pass "every record sealed, no NIK, token or pad in clear, no guessable key"
else
  fail "it_hostile sealed"
fi

echo "== internal topics keep an hour at most"
if "$LINDUNG_TEST_BIN_DIR/it_hostile" retention scan.accepted scan.decrypted; then
  pass "the broker keeps scan.accepted and scan.decrypted an hour at most"
else
  fail "it_hostile retention"
fi
# A cluster whose topic predates the table's retention: the check sees it,
# and `lindungctl kafka apply` brings the topic back to the table.
"$LINDUNG_TEST_BIN_DIR/it_hostile" stretch scan.decrypted 604800000 > /dev/null || fail "stretch"
if "$LINDUNG_TEST_BIN_DIR/it_hostile" retention scan.decrypted > /dev/null 2>&1; then
  fail "a week's retention on scan.decrypted went unnoticed"
else
  pass "a week's retention on scan.decrypted is seen"
fi
"$bin/lindungctl" kafka apply > /dev/null || fail "lindungctl kafka apply"
if "$LINDUNG_TEST_BIN_DIR/it_hostile" retention scan.decrypted; then
  pass "kafka apply set the existing topic's retention back to the table's"
else
  fail "kafka apply left scan.decrypted's retention as it was"
fi

echo "== lindung-audit verify without a trusted key"
untrusted=(env -u LINDUNG_AUDIT_SIGNING_KEY_FILE -u LINDUNG_AUDIT_PUBLIC_KEY
  LINDUNG_AUDIT_DB_URL="$LINDUNG_AUDIT_ADMIN_DB_URL" "$bin/lindung-audit" verify)
"${untrusted[@]}" > /dev/null 2>&1
[ $? = 2 ] && pass "refused without a trusted key" || fail "verify ran without a trusted key"
if out=$("${untrusted[@]}" --trust-embedded-key 2>&1) && grep -q WARNING <<< "$out"; then
  pass "--trust-embedded-key runs, loudly"
else
  fail "--trust-embedded-key: $out"
fi

echo "== lindungctl over TLS trusts only LINDUNG_ADMIN_CACERT"
tls=$(mktemp -d)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$tls/key.pem" -out "$tls/cert.pem" 2> /dev/null
python3 "$here/tls_admin.py" "$tls/cert.pem" "$tls/key.pem" "$tls/port" "$tls/log" &
tls_server=$!
for _ in $(seq 50); do [ -s "$tls/port" ] && break; sleep 0.1; done
tls_url=https://127.0.0.1:$(cat "$tls/port")
LINDUNG_ADMIN_URL=$tls_url "$bin/lindungctl" partner reinstate gojek > /dev/null 2>&1
[ $? = 1 ] && pass "a certificate of an unknown CA refused" || fail "lindungctl trusted an unknown CA"
[ ! -s "$tls/log" ] && pass "no request (no token) sent to it" || fail "a request reached the untrusted server"
if LINDUNG_ADMIN_URL=$tls_url LINDUNG_ADMIN_CACERT=$tls/cert.pem "$bin/lindungctl" partner reinstate gojek > /dev/null; then
  pass "the named CA trusted"
else
  fail "lindungctl refused the CA it was given"
fi
grep -q "authorization=yes" "$tls/log" && pass "the token went over TLS" || fail "no authorised request arrived"
kill "$tls_server" 2> /dev/null
wait "$tls_server" 2> /dev/null
rm -rf "$tls"

echo "== strangers at the admin API"
pid=it-hostile-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
pk=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
"$bin/lindungctl" partner add "$pid" --name "Hostile Test Partner" --key-id 1 --public-key "$pk" > /dev/null ||
  fail "partner add"
summaries_before=$(aq "SELECT count(*), coalesce(sum(substring(detail from 'attempts=([0-9]+)')::int), 0)
                        FROM audit_records WHERE stage = 4 AND actor = 'unauthenticated'")
if python3 "$here/admin_flood.py" "$LINDUNG_ADMIN_URL" "$LINDUNG_ADMIN_TOKEN_FILE" "$pid"; then
  pass "the authorised revoke went through the flood"
else
  fail "admin_flood"
fi
[ "$(q "SELECT status FROM partners WHERE partner_id = '$pid'")" = revoked ] && pass "$pid revoked" ||
  fail "$pid is not revoked"
# Summaries come every 2 s: wait for the flood's to arrive.
for _ in $(seq 50); do
  after=$(aq "SELECT count(*), coalesce(sum(substring(detail from 'attempts=([0-9]+)')::int), 0)
               FROM audit_records WHERE stage = 4 AND actor = 'unauthenticated'")
  [ $((${after#*|} - ${summaries_before#*|})) -ge 1000 ] && break
  sleep 0.2
done
rows=$((${after%|*} - ${summaries_before%|*}))
attempts=$((${after#*|} - ${summaries_before#*|}))
echo "figure: $attempts unauthenticated attempts audited in $rows summary records"
[ "$attempts" -ge 1000 ] && pass "every unauthenticated attempt counted" || fail "only $attempts attempts counted"
[ "$rows" -ge 1 ] && [ "$rows" -le 50 ] && pass "summaries, not one row per attempt" ||
  fail "$rows audit rows for $attempts attempts"

echo "== no NIK or token the attacks used, on any topic or in any file the stack wrote"
sort -u -o "$secrets" "$secrets"
[ "$(wc -l < "$secrets")" -ge 10 ] || fail "too few secrets recorded ($(wc -l < "$secrets"))"
# Bytes, not parsed records: the broker's log segments (every topic, as the
# broker stores it; producers do not compress), PostgreSQL's files (tables
# and WAL) and every log. The seed (people.csv, the test's own list of
# NIKs) is the only file left out.
data=$LINDUNG_RUN_DIR/kafka/data
hits=$(grep -rlaF -f "$secrets" "$data" "$LINDUNG_RUN_DIR"/logs "${LINDUNG_PG_DATA:-/nonexistent}" 2> /dev/null | sort)
topics_hit=$(sed -n "s|^$data/\(.*\)-[0-9]*/.*|\1|p" <<< "$hits" | sort -u | tr '\n' ' ')
elsewhere=$(grep -v "^$data/" <<< "$hits" | head -5)
[ -z "$elsewhere" ] && pass "$(wc -l < "$secrets") NIKs and tokens in no log and no PostgreSQL file" ||
  fail "a NIK or token in: $elsewhere"
[ -z "$topics_hit" ] && pass "no NIK or token the attacks used on any topic" ||
  fail "NIKs or tokens in clear on topics: $topics_hit"
# Every person of the seed, whichever test sent them, and every response pad
# gojek was answered under: byte searches of every topic's segments.
seeded=$(mktemp)
cut -d, -f1 "$LINDUNG_RUN_DIR/seed/people.csv" | grep -E '^[0-9]{16}$' > "$seeded"
nik_topics=$(grep -rlaF -f "$seeded" "$data" 2> /dev/null |
  sed -n "s|^$data/\(.*\)-[0-9]*/.*|\1|p" | sort -u | tr '\n' ' ')
[ -z "$nik_topics" ] && pass "none of the $(wc -l < "$seeded") seeded NIKs on any topic" ||
  fail "seeded NIKs in clear on topics: $nik_topics"
rm -f "$seeded"
[ "$(wc -l < "$pads")" -ge 16 ] || fail "too few response pads recorded ($(wc -l < "$pads"))"
if pad_hits=$(python3 "$here/find_bytes.py" "$pads" "$data"); then
  pass "$(wc -l < "$pads") response pads on no topic"
else
  fail "response pads in clear on topics: $pad_hits"
fi

it_done
