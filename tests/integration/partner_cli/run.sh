#!/usr/bin/env bash
# integration.partner_cli: lindung-partner against the whole stack. Links one
# green person through each of the eleven launch partners, scans each token
# into QR-MALL-0001 (ALLOW) and out again, and checks the error answers a
# partner sees (another partner's token, an unknown venue, an unknown NIK),
# the results command, keygen, --help and usage errors. No output of the
# client may contain the NIK it was given.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"

partner_bin=$LINDUNG_BIN_DIR/lindung-partner
partners=(gojek grab tokopedia tiketcom dana livin-mandiri traveloka cinema-xxi linkaja goers jaki)
venue=QR-MALL-0001
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# json_get FILE KEY: the value of KEY in the one JSON object in FILE ("" if absent).
json_get() {
  python3 -c 'import json,sys
d = json.loads(open(sys.argv[1]).read())
v = d.get(sys.argv[2], "")
print(v)' "$1" "$2"
}

# expect FILE KEY VALUE
expect() {
  local got
  got=$(json_get "$1" "$2") || { fail "$1 is not one JSON object"; return; }
  [ "$got" = "$3" ] || fail "$(basename "$1"): $2 is '$got', expected '$3'"
}

# run_partner NAME EXPECTED_STATUS ARGS...: stdout to $work/NAME.json, stderr to $work/NAME.err.
run_partner() {
  local name=$1 expected=$2 status=0
  shift 2
  "$partner_bin" "$@" > "$work/$name.json" 2> "$work/$name.err" || status=$?
  [ "$status" -eq "$expected" ] ||
    fail "$name: exit status $status, expected $expected ($(head -c 300 "$work/$name.err"))"
}

# --- help and usage -------------------------------------------------------
for cmd in "" keygen link scan results; do
  # shellcheck disable=SC2086
  "$partner_bin" $cmd --help > /dev/null || fail "lindung-partner $cmd --help exited non-zero"
done
check_usage() { # NAME ARGS...
  local name=$1 status=0
  shift
  "$partner_bin" "$@" > /dev/null 2> "$work/usage.err" || status=$?
  [ "$status" -eq 2 ] || fail "$name: exit status $status, expected 2"
  [ "$(wc -l < "$work/usage.err")" -eq 1 ] || fail "$name: expected a one-line error"
}
check_usage "no command"
check_usage "unknown command" frobnicate
check_usage "unknown option" scan --frob
check_usage "short nik" link --nik 123456789012345
check_usage "scan without venue" scan --token lt1_x
check_usage "keygen without dir" keygen
# A malformed NIK is never echoed back.
"$partner_bin" link --nik 12345678901234567 2> "$work/usage.err" || true
! grep -q 12345678901234567 "$work/usage.err" || fail "a rejected --nik was echoed"
"$partner_bin" link --nik=12345678901234567x 2> "$work/usage.err" || true
! grep -q 12345678901234567 "$work/usage.err" || fail "a rejected --nik= was echoed"

# --- keygen ---------------------------------------------------------------
"$partner_bin" keygen --out-dir "$work/keys" > "$work/keygen.out" || fail "keygen failed"
[ "$(stat -c %a "$work/keys/secret.key")" = 400 ] || fail "secret.key is not mode 0400"
grep -Eq '^[0-9a-f]{64}$' "$work/keys/secret.key" || fail "secret.key is not 64 hex characters"
cmp -s "$work/keygen.out" "$work/keys/public.hex" || fail "keygen printed another public key"
status=0
"$partner_bin" keygen --out-dir "$work/keys" > /dev/null 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "keygen overwrote an existing key"

# --- seed (once per stack) -------------------------------------------------
lindung_ensure_seeded
people=$LINDUNG_RUN_DIR/seed/people.csv
[ -r "$people" ] || { echo "FAIL: $people missing" >&2; exit 1; }
nik=$(awk -F, '$2 == "green" { print $1 }' "$people" | shuf -n 1)
[ -n "$nik" ] || { echo "FAIL: no green person in $people" >&2; exit 1; }

# --- link and scan through every partner ----------------------------------
declare -A tokens
for p in "${partners[@]}"; do
  dir=$LINDUNG_RUN_DIR/partners/$p
  run_partner "link-$p" 0 link --nik "$nik" --partner-dir "$dir" --timeout 20
  expect "$work/link-$p.json" error NONE
  token=$(json_get "$work/link-$p.json" token 2> /dev/null || true)
  case $token in lt1_*) ;; *) fail "link-$p: token does not start with lt1_" ;; esac
  grep -Eq '"request_id":"[0-9a-f]{32}"' "$work/link-$p.json" || fail "link-$p: bad request_id"
  tokens[$p]=$token
  [ -n "$token" ] || continue

  run_partner "scan-$p" 0 scan --token "$token" --venue "$venue" --partner-dir "$dir" --timeout 20
  expect "$work/scan-$p.json" error NONE
  expect "$work/scan-$p.json" status GREEN
  expect "$work/scan-$p.json" decision ALLOW
  expect "$work/scan-$p.json" reason STATUS_ALLOWED
  [ -n "$(json_get "$work/scan-$p.json" venue_name 2> /dev/null)" ] || fail "scan-$p: no venue_name"
  [ -n "$(json_get "$work/scan-$p.json" latency_ms 2> /dev/null)" ] || fail "scan-$p: no latency_ms"

  run_partner "checkout-$p" 0 scan --check-out --token "$token" --venue "$venue" \
    --partner-dir "$dir" --timeout 20
  expect "$work/checkout-$p.json" decision ALLOW
  expect "$work/checkout-$p.json" reason CHECKED_OUT
done

# Tokens are per partner: the same person gets eleven different tokens.
distinct=$(printf '%s\n' "${tokens[@]}" | sort -u | grep -c . || true)
[ "$distinct" -eq "${#partners[@]}" ] || fail "expected ${#partners[@]} distinct tokens, got $distinct"

# --- error answers --------------------------------------------------------
gojek=$LINDUNG_RUN_DIR/partners/gojek
grab=$LINDUNG_RUN_DIR/partners/grab
if [ -n "${tokens[gojek]:-}" ]; then
  run_partner other-token 1 scan --token "${tokens[gojek]}" --venue "$venue" --partner-dir "$grab" \
    --timeout 20
  expect "$work/other-token.json" error UNKNOWN_TOKEN
  run_partner unknown-venue 1 scan --token "${tokens[gojek]}" --venue QR-NO-SUCH-VENUE \
    --partner-dir "$gojek" --timeout 20
  expect "$work/unknown-venue.json" error UNKNOWN_VENUE
fi
run_partner unknown-token 1 scan --token lt1_never-issued --venue "$venue" --partner-dir "$gojek" \
  --timeout 20
expect "$work/unknown-token.json" error UNKNOWN_TOKEN
unknown_nik=9999999999999999
if ! grep -q "^$unknown_nik," "$people"; then
  run_partner unknown-nik 1 link --nik "$unknown_nik" --partner-dir "$gojek" --timeout 20
  expect "$work/unknown-nik.json" error UNKNOWN_NIK
fi

# --- results: every answer to gojek is on its topic and opens --------------
run_partner results 0 results --from-beginning --partner-dir "$gojek" --timeout 20
# (Other tests may leave answers for other gojek keys there: only ours are checked.)
for name in link-gojek scan-gojek checkout-gojek; do
  [ -s "$work/$name.json" ] || continue
  id=$(json_get "$work/$name.json" request_id 2> /dev/null || true)
  grep "\"request_id\":\"$id\"" "$work/results.json" > "$work/results-$name.lines" || true
  if [ -z "$id" ] || [ ! -s "$work/results-$name.lines" ]; then
    fail "results: no answer for $name"
    continue
  fi
  ! grep -qv '"error":"NONE"' "$work/results-$name.lines" || fail "results: $name did not open"
done

# --- privacy: the NIK never appears in any output ---------------------------
if grep -rqF "$nik" "$work"; then
  fail "the NIK appears in lindung-partner output"
fi

note "${#partners[@]} partners"
it_done
