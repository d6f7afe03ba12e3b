#!/usr/bin/env bash
# The broker enforces who may do what (deploy/kafka/access), through the real
# broker with each principal's own certificate; every refusal is checked
# beside an allowed operation of the same principal, so a broken setup does
# not pass for a refusal, and each check fails if its ACL is loosened:
#   - partner A (gojek) writes scan.requests.gojek and reads scan.results.gojek,
#     but cannot write scan.requests.grab, read scan.results.grab, read any
#     internal or audit topic, or create a topic;
#   - after `lindungctl partner revoke`, a partner's produce is refused by the
#     broker (its write ACL is gone); after reinstate it is allowed again;
#   - services cannot touch topics outside their role;
#   - the analyst reads audit.log and nothing else.
# That each refusal would fail if its ACL were loosened is itself checked:
# every refused operation above is then granted by one literal ACL of its
# own (as the admin), must turn allowed (so its check would fail), and is
# refused again once that ACL is deleted. The checks change nothing but
# those ACLs (see it_broker_acl.c), so the test can run on any stack.
set -uo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
if [ "${LINDUNG_BROKER:-}" != kafka ]; then
  echo "FAIL: the stack runs lindung-devbroker, which has no ACLs (scripts/stack up --broker kafka)"
  exit 1
fi
lindung_ensure_seeded
drv=$LINDUNG_TEST_BIN_DIR/it_broker_acl
certs=$LINDUNG_KAFKA_CERT_DIR

# The principal a certificate speaks as: its CN.
principal_of() { openssl x509 -in "$1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'; }

as_partner() { echo "$LINDUNG_RUN_DIR/partners/$1/kafka.crt $LINDUNG_RUN_DIR/partners/$1/kafka.key"; }
as_principal() { echo "$certs/$1.crt $certs/$1.key"; }

tmp=$(mktemp)
# Every refusal checked while recording: "principal|cert key|op|topic|group".
refusals=()
recording=1
# ACLs added to loosen a check: "principal|topic|operation", deleted on exit.
loosened=()
drop_loosened() {
  local acl principal topic operation
  for acl in ${loosened[@]+"${loosened[@]}"}; do
    IFS='|' read -r principal topic operation <<< "$acl"
    "$drv" acl delete "$principal" "$topic" "$operation" > /dev/null 2>&1 ||
      echo "FAIL: could not delete the loosening ACL $acl"
  done
  loosened=()
}
trap 'drop_loosened; rm -f "$tmp"' EXIT

# expect allowed|refused <who> <cert key> produce|create <topic>
# expect allowed|refused <who> <cert key> consume <topic> <group the principal may use>
# "refused" means refused by the topic's ACL (create: the cluster's), nothing else.
expect() {
  local want=$1 who=$2 creds=$3 op=$4 topic=$5 group=${6:-} out rc
  # shellcheck disable=SC2086
  out=$("$drv" $creds "$op" "$topic" ${group:+"$group"} 2> "$tmp")
  rc=$?
  checks=$((checks + 1))
  case "$want:$rc" in
    allowed:0 | refused:3)
      echo "ok   $who $op $topic: $out"
      if [ "$want" = refused ] && [ "$recording" = 1 ]; then
        refusals+=("$(principal_of "${creds%% *}")|$creds|$op|$topic|$group")
      fi
      ;;
    *)
      failures=$((failures + 1))
      echo "FAIL $who $op $topic: expected $want, got $out (exit $rc)"
      tail -3 "$tmp"
      ;;
  esac
}

# The same, after an ACL change: the broker applies a change once its
# metadata log has it, so the outcome may take a moment (bounded: 15 s).
expect_soon() {
  local want=$1 who=$2 creds=$3 op=$4 topic=$5 group=${6:-} rc deadline=$((SECONDS + 15))
  while :; do
    # shellcheck disable=SC2086
    "$drv" $creds "$op" "$topic" ${group:+"$group"} > /dev/null 2>&1
    rc=$?
    case "$want:$rc" in allowed:0 | refused:3) break ;; esac
    [ "$SECONDS" -ge "$deadline" ] && break
    sleep 0.5
  done
  expect "$@"
}

echo "== partner gojek"
gojek=$(as_partner gojek)
expect allowed gojek "$gojek" produce scan.requests.gojek
expect allowed gojek "$gojek" consume scan.results.gojek gojek-acl-test
expect refused gojek "$gojek" produce scan.requests.grab
expect refused gojek "$gojek" consume scan.results.grab gojek-acl-test
expect refused gojek "$gojek" consume scan.requests.gojek gojek-acl-test
expect refused gojek "$gojek" produce scan.results.gojek
for topic in scan.accepted scan.decrypted scan.deadletter audit.events audit.log partner.events; do
  expect refused gojek "$gojek" consume "$topic" gojek-acl-test
done
expect refused gojek "$gojek" produce scan.accepted
expect refused gojek "$gojek" produce partner.events
expect refused gojek "$gojek" create "scan.requests.gojek-2"

echo "== services keep to their role"
expect allowed decrypt "$(as_principal lindung-decrypt)" consume scan.accepted lindung-decrypt
expect refused decrypt "$(as_principal lindung-decrypt)" produce scan.accepted
expect refused decrypt "$(as_principal lindung-decrypt)" consume scan.requests.gojek lindung-decrypt
expect refused decrypt "$(as_principal lindung-decrypt)" consume audit.log lindung-decrypt
expect allowed ingest "$(as_principal lindung-ingest)" consume scan.requests.grab lindung-ingest
expect refused ingest "$(as_principal lindung-ingest)" produce scan.decrypted
expect refused ingest "$(as_principal lindung-ingest)" produce scan.requests.grab
expect refused ingest "$(as_principal lindung-ingest)" consume scan.results.grab lindung-ingest
expect allowed status-resolver "$(as_principal lindung-status-resolver)" consume scan.decrypted lindung-status-resolver
expect refused status-resolver "$(as_principal lindung-status-resolver)" consume scan.accepted lindung-status-resolver
expect refused status-resolver "$(as_principal lindung-status-resolver)" produce partner.events
expect allowed audit "$(as_principal lindung-audit)" consume audit.events lindung-audit
expect refused audit "$(as_principal lindung-audit)" consume scan.accepted lindung-audit
expect refused audit "$(as_principal lindung-audit)" produce scan.results.gojek
expect refused revocation "$(as_principal lindung-revocation)" produce scan.accepted
expect refused revocation "$(as_principal lindung-revocation)" create it.acl.anything

echo "== the analyst reads audit.log and nothing else"
analyst=$(as_principal lindung-analyst)
expect allowed analyst "$analyst" consume audit.log analyst-acl-test
for topic in audit.events scan.results.gojek scan.requests.gojek scan.accepted scan.decrypted scan.deadletter partner.events; do
  expect refused analyst "$analyst" consume "$topic" analyst-acl-test
done
expect refused analyst "$analyst" produce audit.log

echo "== labs and vaccination centres write health.facts and nothing else"
labs=$(as_principal lindung-health-source)
expect allowed health-source "$labs" produce health.facts
for topic in scan.decrypted scan.results.gojek audit.events partner.events; do
  expect refused health-source "$labs" produce "$topic"
done
# (It has no consumer group at all: reading is refused before the topic.)
expect refused gojek "$gojek" produce health.facts
expect refused analyst "$analyst" consume health.facts analyst-acl-test

echo "== each refusal above fails its check once its ACL is loosened"
recording=0
for r in "${refusals[@]}"; do
  IFS='|' read -r principal creds op topic group <<< "$r"
  case $op in produce) operation=Write ;; consume) operation=Read ;; create) operation=Create ;; esac
  if "$drv" acl add "$principal" "$topic" "$operation"; then
    loosened+=("$principal|$topic|$operation")
  else
    failures=$((failures + 1))
    echo "FAIL: could not loosen $principal $operation $topic"
  fi
done
for r in "${refusals[@]}"; do
  IFS='|' read -r principal creds op topic group <<< "$r"
  # The refusal's check must now fail: the same operation is allowed.
  expect_soon allowed "$principal (loosened)" "$creds" "$op" "$topic" "$group"
done
drop_loosened
for r in "${refusals[@]}"; do
  IFS='|' read -r principal creds op topic group <<< "$r"
  expect_soon refused "$principal (tightened again)" "$creds" "$op" "$topic" "$group"
done
echo "${#refusals[@]} refusals, each allowed once loosened and refused again after"

echo "== partner revoke removes the write ACL"
pid=it-acl-$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
pk=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
"$LINDUNG_BIN_DIR/lindungctl" partner add "$pid" --name "ACL Test Partner" --key-id 1 --public-key "$pk" > /dev/null ||
  { echo "FAIL: partner add"; exit 1; }
creds=$(as_partner "$pid")
expect_soon allowed "$pid" "$creds" produce "scan.requests.$pid"
expect_soon allowed "$pid" "$creds" consume "scan.results.$pid" "$pid-acl-test"
expect refused "$pid" "$creds" produce scan.requests.gojek
"$LINDUNG_BIN_DIR/lindungctl" partner revoke "$pid" --reason "broker ACL test" > /dev/null ||
  { echo "FAIL: partner revoke"; exit 1; }
expect_soon refused "$pid" "$creds" produce "scan.requests.$pid"
# Its answers (PARTNER_REVOKED ones included) stay readable.
expect allowed "$pid" "$creds" consume "scan.results.$pid" "$pid-acl-test"
"$LINDUNG_BIN_DIR/lindungctl" partner reinstate "$pid" > /dev/null || { echo "FAIL: partner reinstate"; exit 1; }
expect_soon allowed "$pid" "$creds" produce "scan.requests.$pid"

it_done
