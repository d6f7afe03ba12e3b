#!/usr/bin/env bash
# unit.partner_sdk.cli_offline: what lindung-partner decides before it talks
# to Kafka: --help, usage errors (exit 2, one line, never echoing a NIK),
# keygen, and credential checks (exit 2 for missing or malformed values,
# exit 4 for a secret key file others can read). The exchange with Lindung
# itself is tested by integration.partner_cli.
set -euo pipefail
: "${LINDUNG_BIN_DIR:?LINDUNG_BIN_DIR not set}"
bin=$LINDUNG_BIN_DIR/lindung-partner
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

# expect_status STATUS NAME ARGS...: runs with a clean credential environment.
expect_status() {
  local expected=$1 name=$2 status=0
  shift 2
  env -u LINDUNG_PARTNER_ID -u LINDUNG_PARTNER_KEY_ID -u LINDUNG_PARTNER_SECRET_KEY_FILE \
    -u LINDUNG_PARTNER_DIR -u LINDUNG_SYSTEM_KEY_ID -u LINDUNG_SYSTEM_PUBLIC_KEY \
    -u LINDUNG_KAFKA_BROKERS "$bin" "$@" > "$work/out" 2> "$work/err" || status=$?
  [ "$status" -eq "$expected" ] || fail "$name: exit status $status, expected $expected"
  if [ "$expected" -eq 2 ] && [ "$(wc -l < "$work/err")" -ne 1 ]; then
    fail "$name: expected a one-line error, got: $(cat "$work/err")"
  fi
}

for cmd in "" keygen link scan results; do
  # shellcheck disable=SC2086
  expect_status 0 "help $cmd" $cmd --help
  grep -q '^usage: lindung-partner' "$work/out" || fail "help $cmd: no usage line"
done
expect_status 0 "-h" scan -h

expect_status 2 "no command"
expect_status 2 "unknown command" frobnicate
expect_status 2 "unknown option" link --frob
expect_status 2 "option of another command" link --venue QR-MALL-0001
expect_status 2 "missing value" scan --token
expect_status 2 "stray argument" results extra
expect_status 2 "twice" scan --token a --token b --venue v
expect_status 2 "short nik" link --nik 317101250989000
expect_status 2 "letters in nik" link --nik 31710125098900a1
expect_status 2 "long token" scan --venue v --token "$(printf 'a%.0s' {1..65})"
expect_status 2 "long venue" scan --token t --venue "$(printf 'v%.0s' {1..65})"
expect_status 2 "bad scanned-at" scan --token t --venue v --scanned-at-ms soon
expect_status 2 "bad timeout" link --nik 3171012509890001 --timeout -1

# Neither a rejected NIK nor a NIK glued to an unknown option is echoed.
nik=3171012509890001
for args in "link --nik ${nik}9" "link --nikk=$nik" "link -$nik" "$nik"; do
  # shellcheck disable=SC2086
  expect_status 2 "echo check ($args)" $args
  ! grep -q "$nik" "$work/err" "$work/out" || fail "a NIK was echoed for: ${args//$nik/<nik>}"
done

# keygen writes a 0400 secret and prints the matching public key.
expect_status 2 "keygen without dir" keygen
expect_status 0 keygen keygen --out-dir "$work/keys"
[ "$(stat -c %a "$work/keys/secret.key")" = 400 ] || fail "secret.key is not 0400"
grep -Eq '^[0-9a-f]{64}$' "$work/keys/secret.key" || fail "secret.key is not 64 hex characters"
cmp -s "$work/out" "$work/keys/public.hex" || fail "keygen printed another key than public.hex"
grep -Eq '^[0-9a-f]{64}$' "$work/out" || fail "keygen output is not 64 hex characters"
expect_status 4 "keygen again" keygen --out-dir "$work/keys"

# Credentials: each missing or malformed value is a usage error.
pk=$(cat "$work/keys/public.hex")
creds=(--partner gojek --key-id 7 --secret-key-file "$work/keys/secret.key" --system-key-id 1
  --system-public-key "$pk" --brokers 127.0.0.1:1)
expect_status 2 "no partner" link --nik "$nik" "${creds[@]:2}"
expect_status 2 "bad partner id" link --nik "$nik" --partner Gojek "${creds[@]:2}"
expect_status 2 "key id 0" link --nik "$nik" "${creds[@]:0:2}" --key-id 0 "${creds[@]:4}"
expect_status 2 "bad system key" link --nik "$nik" "${creds[@]:0:8}" --system-public-key abc \
  --brokers 127.0.0.1:1
expect_status 2 "no brokers" link --nik "$nik" "${creds[@]:0:10}"
# A partner dir without key_id fails before Kafka; so does a readable secret.
mkdir -p "$work/partners/gojek"
expect_status 4 "partner dir without key_id" results --partner-dir "$work/partners/gojek" \
  --system-key-id 1 --system-public-key "$pk" --brokers 127.0.0.1:1
cp "$work/keys/secret.key" "$work/partners/gojek/secret.key"
chmod 0644 "$work/partners/gojek/secret.key"
echo 7 > "$work/partners/gojek/key_id"
expect_status 4 "secret readable by others" results --partner-dir "$work/partners/gojek" \
  --system-key-id 1 --system-public-key "$pk" --brokers 127.0.0.1:1
grep -q 'secret.key' "$work/err" || fail "the credential error does not name the file"
! grep -q "$(cat "$work/keys/secret.key")" "$work/err" || fail "the secret key was printed"

if [ "$failures" -gt 0 ]; then
  echo "cli_offline: $failures failure(s)" >&2
  exit 1
fi
echo "cli_offline: ok"
