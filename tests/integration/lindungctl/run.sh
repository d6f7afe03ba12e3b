#!/usr/bin/env bash
# lindungctl end to end, against the embedded stack's PostgreSQL. Commands
# that change state run against a scratch pair of databases (created over the
# superuser socket and dropped at the end), so that system keys and the
# launch partners of `seed` never collide with the shared stack; the stack's
# own databases only get read-only commands. Every command is run with good
# and bad input; checked: exit status, output, exactly one stderr line on
# failure, nothing written by bad input, and no NIK or secret in any output.
set -uo pipefail

# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
ctl=$LINDUNG_BIN_DIR/lindungctl
# The distribution's Python carries PyNaCl (python3-nacl); a pyenv shim may not.
py=/usr/bin/python3
[ -x "$py" ] || py=python3
psql_bin=$pg_bin/psql
: "${LINDUNG_PG_SOCKET_DIR:?the stack must export LINDUNG_PG_SOCKET_DIR}"
stack_db_url=$LINDUNG_DB_URL

check() { if eval "$2"; then pass; else fail "$1"; fi; }

tmp=$(mktemp -d)
suffix=$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')
scratch=lindung_ct_$suffix
super() {
  runuser -u postgres -- "$psql_bin" -X -q -v ON_ERROR_STOP=1 -tA -h "$LINDUNG_PG_SOCKET_DIR" \
    -p "$LINDUNG_PG_PORT" -U postgres -d postgres -c "$1"
}
cleanup() {
  super "DROP DATABASE IF EXISTS $scratch" > /dev/null 2>&1
  super "DROP DATABASE IF EXISTS ${scratch}_audit" > /dev/null 2>&1
  super "DROP DATABASE IF EXISTS ${scratch}_one" > /dev/null 2>&1
  rm -rf "$tmp"
}
trap cleanup EXIT
url() { echo "postgresql://$1@127.0.0.1:$LINDUNG_PG_PORT/$2?passfile=$LINDUNG_PG_PASSFILE"; }
q() { "$psql_bin" "$LINDUNG_DB_URL" -X -q -v ON_ERROR_STOP=1 -tA -c "$1"; }

# run <expected exit status> <args...>: output in $tmp/out and $tmp/err, and
# everything ever printed collects in $tmp/all for the leak checks.
run() {
  local want=$1 rc
  shift
  "$ctl" "$@" > "$tmp/out" 2> "$tmp/err"
  rc=$?
  cat "$tmp/out" "$tmp/err" >> "$tmp/all"
  local what="lindungctl $*"
  if [ "$rc" -ne "$want" ]; then
    fail "$what: exit $rc, expected $want ($(head -1 "$tmp/err"))"
    return
  fi
  if [ "$want" -eq 0 ]; then
    [ -s "$tmp/err" ] && { fail "$what: wrote to stderr: $(head -1 "$tmp/err")"; return; }
  else
    if [ "$(wc -l < "$tmp/err")" -ne 1 ] || ! grep -q '^lindungctl: ' "$tmp/err"; then
      fail "$what: stderr must be one 'lindungctl: ' line, was: $(cat "$tmp/err")"
      return
    fi
  fi
  pass
}
err_has() { if grep -q -- "$1" "$tmp/err"; then pass; else fail "stderr lacks '$1': $(cat "$tmp/err")"; fi; }
out_is() { if [ "$(cat "$tmp/out")" = "$1" ]; then pass; else fail "stdout '$(cat "$tmp/out")' is not '$1'"; fi; }

counts() {
  q "SELECT (SELECT count(*) FROM partners) || ' ' || (SELECT count(*) FROM partner_keys) || ' ' ||
     (SELECT count(*) FROM system_keys) || ' ' || (SELECT count(*) FROM people) || ' ' ||
     (SELECT count(*) FROM health_facts) || ' ' || (SELECT count(*) FROM venues) || ' ' ||
     (SELECT version FROM registry_version) || ' ' ||
     (SELECT COALESCE(md5(string_agg(fact_id::text, ',' ORDER BY fact_id)), '') FROM health_facts)"
}
unchanged() { # what before
  local now
  now=$(counts)
  if [ "$now" = "$2" ]; then pass; else fail "$1 changed the database: '$2' -> '$now'"; fi
}

nik_hash() { # nik -> hex of keyed BLAKE2b-256, computed independently of lindungctl
  "$py" -c 'import hashlib,sys; k=bytes.fromhex(open(sys.argv[1]).read().strip());
print(hashlib.blake2b(sys.argv[2].encode(), key=k, digest_size=32).hexdigest())' "$LINDUNG_NIK_KEY_FILE" "$1"
}
# The colour a person's facts give, evaluated by scripts/bench.d/colours.py
# (STATUS-RULES.md in Python, independent of lindungctl's C rules).
status_of() { echo "$1" | "$LINDUNG_SOURCE_DIR/scripts/bench.d/colours.py" | cut -d, -f2; }
birth_of() { q "SELECT birth_date FROM people WHERE nik_hash = '\\x$(nik_hash "$1")'"; }
partner_pk() { q "SELECT encode(public_key, 'hex') FROM partner_keys WHERE partner_id = '$1' AND key_id = $2 AND status = 'active'"; }
venue_capacity() { q "SELECT capacity FROM venues WHERE venue_id = '$1'"; }
people_count() { q "SELECT count(*) FROM people"; }

kx_matches() { # secret_hex public_hex -> success when the pair belongs together
  "$py" -c 'import sys; from nacl.public import PrivateKey
sys.exit(0 if bytes(PrivateKey(bytes.fromhex(sys.argv[1])).public_key).hex() == sys.argv[2] else 1)' "$1" "$2"
}

# --- help and usage ---------------------------------------------------------
run 0 --help
check "--help prints usage" 'grep -q "Usage: lindungctl" "$tmp/out"'
# Every command that only reads (list, show) has machine-readable output.
check "every list/show command takes --json" \
  '[ -z "$(grep -E "^  lindungctl [a-z-]+ (list|show)( |$)" "$tmp/out" | grep -vF -- "[--json]")" ]'
run 0 rules list --json
check "rules list --json" 'jq -e "length > 0 and any(.[]; .state == \"in-force\")
  and all(.[]; (.rule_set_id | type) == \"string\" and (.adult_age | type) == \"number\"
  and (.region_rules | type) == \"number\")" "$tmp/out" > /dev/null'
run 2 rules list --json extra
for group in db system-key partner subject venue facts rules operator; do
  run 0 "$group" --help
done
for cmd in "db migrate" "system-key create" "system-key show" "partner add" "partner list" \
  "subject upsert" "subject import" "venue add" "venue list" "seed" "facts import" "facts publish" "rules list" "rules add" "rules region" \
  "operator add" "operator remove" "operator list"; do
  # shellcheck disable=SC2086
  run 0 $cmd --help
  check "$cmd --help names the command" 'grep -q "Usage: lindungctl $cmd" "$tmp/out"'
done
run 2
run 2 frobnicate
run 2 partner
run 2 partner frob
run 2 partner list --bogus
(unset LINDUNG_DB_URL; run 2 partner list; err_has "LINDUNG_DB_URL is not set"; echo "$checks $failures" > "$tmp/sub")
read -r checks failures < "$tmp/sub"
LINDUNG_DB_URL="postgresql://nobody@127.0.0.1:1/nothing" run 1 partner list
err_has "cannot connect"

# --- scratch databases --------------------------------------------------------
super "CREATE DATABASE $scratch OWNER lindung_admin" > /dev/null || fail "create $scratch"
super "CREATE DATABASE ${scratch}_audit OWNER lindung_audit_admin" > /dev/null || fail "create ${scratch}_audit"
export LINDUNG_DB_URL
LINDUNG_DB_URL=$(url lindung_admin "$scratch")
export LINDUNG_AUDIT_DB_NAME=${scratch}_audit
export LINDUNG_RUN_DIR=$tmp/run
export LINDUNG_NIK_KEY_FILE=$tmp/nik.key
(umask 077; od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$LINDUNG_NIK_KEY_FILE"; echo >> "$LINDUNG_NIK_KEY_FILE")
chmod 0400 "$LINDUNG_NIK_KEY_FILE"

files=$(find "$LINDUNG_SOURCE_DIR/db/migrations" -name '*.sql' | wc -l)
# Each database is migrated by its own owner.
(unset LINDUNG_AUDIT_ADMIN_DB_URL; run 2 db migrate; err_has "LINDUNG_AUDIT_ADMIN_DB_URL"; echo "$checks $failures" > "$tmp/sub")
read -r checks failures < "$tmp/sub"
run 0 db migrate
check "first migrate applies every file ($files)" 'grep -qx "$files migrations applied" "$tmp/out"' || cat "$tmp/out" >&2
run 0 db migrate
out_is "0 migrations applied"
# lindung_audit owned by lindung's owner is refused, and nothing is applied to it.
super "CREATE DATABASE ${scratch}_one OWNER lindung_admin" > /dev/null || fail "create ${scratch}_one"
LINDUNG_AUDIT_ADMIN_DB_URL=$(url lindung_admin "${scratch}_one") LINDUNG_AUDIT_DB_NAME= run 1 db migrate
err_has "owned by lindung_admin"
check "nothing applied to a shared-owner audit database" \
  '[ "$("$psql_bin" "$(url lindung_admin "${scratch}_one")" -X -tAc "SELECT count(*) FROM schema_migrations")" = 0 ]'
super "DROP DATABASE ${scratch}_one" > /dev/null
run 2 db migrate extra

# --- system keys ----------------------------------------------------------------
run 1 system-key show
err_has "no active system key"
run 0 system-key create
check "create prints <id> <hex>" 'grep -qxE "1 [0-9a-f]{64}" "$tmp/out"'
read -r sk_id sk_pk < "$tmp/out"
sk_file=$LINDUNG_RUN_DIR/secrets/system-1.key
check "secret file mode 0400" '[ "$(stat -c %a "$sk_file")" = 400 ]'
check "secret file is 64 hex and a newline" '[ "$(wc -c < "$sk_file")" = 65 ] && grep -qxE "[0-9a-f]{64}" "$sk_file"'
check "secret key belongs to the public key" 'kx_matches "$(cat "$sk_file")" "$sk_pk"'
run 0 system-key show
out_is "$sk_id $sk_pk"
run 0 system-key create --secret-out "$tmp/keys/sk2"
check "second key has id 2" 'grep -qxE "2 [0-9a-f]{64}" "$tmp/out"'
check "--secret-out written" '[ "$(stat -c %a "$tmp/keys/sk2")" = 400 ]'
read -r _ sk2_pk < "$tmp/out"
run 0 system-key show
out_is "2 $sk2_pk"
run 0 system-key show --json
check "system-key show --json" '[ "$(jq -r .key_id "$tmp/out") $(jq -r .public_key "$tmp/out")" = "2 $sk2_pk" ]'
before=$(counts)
run 1 system-key create --secret-out "$tmp/keys/sk2"
err_has "refusing to overwrite"
unchanged "system-key create onto an existing file" "$before"
check "existing secret untouched" 'kx_matches "$(cat "$tmp/keys/sk2")" "$sk2_pk"'
run 2 system-key create --secret-out
run 2 system-key create --bogus
unchanged "bad system-key create" "$before"

# --- partners -------------------------------------------------------------------
pid=t-$suffix
pk=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
run 0 partner add "$pid" --direct --name "Test Partner $suffix" --key-id 5 --public-key "$pk"
run 0 partner list
check "partner list line" 'grep -qxF "$(printf "%s\tactive\t5\tTest Partner %s" "$pid" "$suffix")" "$tmp/out"'
check "partner key stored" '[ "$(partner_pk "$pid" 5)" = "$pk" ]'
before=$(counts)
run 1 partner add "$pid" --direct --name "Again" --key-id 6 --public-key "$pk"
err_has "already exists"
run 2 partner add "T-$suffix" --direct --name x --key-id 1 --public-key "$pk"
err_has "invalid partner id"
run 2 partner add a --direct --name x --key-id 1 --public-key "$pk"
run 2 partner add "a23456789012345678901234567890123" --direct --name x --key-id 1 --public-key "$pk"
run 2 partner add "u_$suffix" --direct --name x --key-id 1 --public-key "$pk"
run 2 partner add "u-$suffix" --direct --name x --key-id 0 --public-key "$pk"
err_has "invalid key id"
run 2 partner add "u-$suffix" --direct --name x --key-id 4294967296 --public-key "$pk"
run 2 partner add "u-$suffix" --direct --name x --key-id -1 --public-key "$pk"
run 2 partner add "u-$suffix" --direct --name x --key-id one --public-key "$pk"
run 2 partner add "u-$suffix" --direct --name x --key-id 1 --public-key "${pk:1}"
err_has "invalid public key"
run 2 partner add "u-$suffix" --direct --name x --key-id 1 --public-key "${pk}00"
run 2 partner add "u-$suffix" --direct --name x --key-id 1 --public-key "zz${pk:2}"
run 2 partner add "u-$suffix" --direct --key-id 1 --public-key "$pk"
err_has "missing --name"
run 2 partner add "u-$suffix" --direct --name "$(printf 'two\nlines')" --key-id 1 --public-key "$pk"
run 2 partner add "u-$suffix" --direct --name x --key-id 1
run 2 partner add --direct --name x --key-id 1 --public-key "$pk"
run 2 partner add "u-$suffix" --direct extra --name x --key-id 1 --public-key "$pk"
unchanged "bad partner add" "$before"
run 0 partner add "u-$suffix" --direct --name=Equals --key-id=4294967295 --public-key="$pk"
run 0 partner list
check "max key id listed" 'grep -qF "$(printf "u-%s\tactive\t4294967295\tEquals" "$suffix")" "$tmp/out"'
run 0 partner list --json
check "partner list --json" 'jq -e --arg p "$pid" --arg pk "$pk" --arg u "u-$suffix" \
  "any(.[]; .partner_id == \$p and .status == \"active\" and .name == \"Test Partner $suffix\"
     and .keys == [{key_id: 5, status: \"active\", public_key: \$pk}])
   and any(.[]; .partner_id == \$u and .keys[0].key_id == 4294967295)" "$tmp/out" > /dev/null'

# --- venues -------------------------------------------------------------------
vid=QR-TEST-$suffix
run 0 venue add "$vid" --name "Warung Uji $suffix" --category restaurant --capacity 12
run 0 venue add "$vid-U" --name "Stasiun Uji" --category transport
run 0 venue list
check "venue line with capacity" 'grep -qxF "$(printf "%s\trestaurant\t12\t0\tWarung Uji %s" "$vid" "$suffix")" "$tmp/out"'
check "venue line unlimited" 'grep -qxF "$(printf "%s-U\ttransport\tunlimited\t0\tStasiun Uji" "$vid")" "$tmp/out"'
run 0 venue list --json
check "venue list --json" 'jq -e --arg v "$vid" \
  "any(.[]; .venue_id == \$v and .capacity == 12 and .occupancy == 0 and .category == \"restaurant\")
   and any(.[]; .venue_id == (\$v + \"-U\") and .capacity == null)" "$tmp/out" > /dev/null'
run 2 venue list --json extra
before=$(counts)
run 1 venue add "$vid" --name "Again" --category mall
err_has "already exists"
run 1 venue add "$vid-2" --name "Spa" --category spa
err_has "unknown category"
run 2 venue add "$vid-2" --name "Mall" --category mall --capacity -1
err_has "invalid capacity"
run 2 venue add "$vid-2" --name "Mall" --category mall --capacity 2147483648
run 2 venue add "$vid-2" --name "Mall" --category mall --capacity ten
run 2 venue add "$(printf 'V%.0s' {1..65})" --name "Mall" --category mall
err_has "invalid venue id"
run 2 venue add "$(printf 'QR\tTAB')" --name "Mall" --category mall
run 2 venue add "$vid-2" --category mall
run 2 venue add "$vid-2" --name "Mall"
unchanged "bad venue add" "$before"

# --- subjects: upsert -----------------------------------------------------------
nik1=3171014501900$((100 + RANDOM % 900))
# A NIK is read from a file or stdin, never from the command line.
nikf() { printf '%s\n' "$1" > "$tmp/nik"; echo "$tmp/nik"; }
run 0 subject upsert --nik-file "$(nikf "$nik1")" --status green --birth-date 1990-01-05
check "upsert creates" 'grep -qE "^person [0-9]+ created: green$" "$tmp/out"'
check "stored under the keyed hash" '[ "$(status_of "$nik1")" = green ]'
check "birth date stored" '[ "$(birth_of "$nik1")" = 1990-01-05 ]'
run 0 subject upsert --nik-file - --status RED <<< "$nik1"
check "upsert updates (NIK on stdin)" 'grep -qE "^person [0-9]+ updated: red$" "$tmp/out"'
check "status now red" '[ "$(status_of "$nik1")" = red ]'
check "birth date kept" '[ "$(birth_of "$nik1")" = 1990-01-05 ]'
before=$(counts)
run 2 subject upsert --nik 3201014501900123 --status green
err_has "never taken on the command line"
check "a refused --nik is not echoed" '! grep -q 3201014501900123 "$tmp/err"'
run 2 subject upsert --nik=3201014501900123 --status green
err_has "never taken on the command line"
check "a refused --nik= is not echoed" '! grep -q 3201014501900123 "$tmp/err"'
run 2 subject upsert --nik-file "$(nikf "${nik1:1}")" --status green
err_has "invalid NIK"
run 2 subject upsert --nik-file "$(nikf "${nik1}0")" --status green
run 2 subject upsert --nik-file "$(nikf "${nik1:0:15}x")" --status green
printf '%s\n%s\n' "$nik1" "$nik1" > "$tmp/two-niks"
run 2 subject upsert --nik-file "$tmp/two-niks" --status green
err_has "invalid NIK"
run 2 subject upsert --nik-file - --status green < /dev/null
run 1 subject upsert --nik-file "$tmp/no-such-file" --status green
err_has "cannot read the NIK file"
run 2 subject upsert --nik-file "$(nikf "$nik1")" --status blue
err_has "unknown status"
run 2 subject upsert --nik-file "$(nikf "$nik1")" --status green --birth-date 1990-02-30
err_has "invalid birth date"
run 2 subject upsert --nik-file "$(nikf "$nik1")"
run 2 subject upsert --status green
err_has "missing --nik-file"
(unset LINDUNG_NIK_KEY_FILE; run 2 subject upsert --nik-file "$(nikf "$nik1")" --status green; echo "$checks $failures" > "$tmp/sub")
read -r checks failures < "$tmp/sub"
cp "$LINDUNG_NIK_KEY_FILE" "$tmp/open.key"
chmod 0644 "$tmp/open.key"
LINDUNG_NIK_KEY_FILE=$tmp/open.key run 1 subject upsert --nik-file "$(nikf "$nik1")" --status green
err_has "must not be readable"
(umask 077; echo "not hex" > "$tmp/bad.key")
LINDUNG_NIK_KEY_FILE=$tmp/bad.key run 1 subject upsert --nik-file "$(nikf "$nik1")" --status green
err_has "64 hex"
unchanged "bad subject upsert" "$before"

# --- subjects: import -----------------------------------------------------------
base=31710299$(printf %02d $((RANDOM % 100)))
n2=${base}000101 n3=${base}000102 n4=${base}000103
printf 'nik,status,birth_date\r\n%s,green,1980-07-15\r\n\r\n%s , YELLOW ,\r\n%s,black\r\n%s,red,1981-01-01\r\n' \
  "$n2" "$n3" "$n4" "$n2" > "$tmp/good.csv"
people_before=$(people_count)
run 0 subject import "$tmp/good.csv"
out_is "4 subjects imported"
check "three new people" '[ "$(people_count)" = $((people_before + 3)) ]'
check "last line wins" '[ "$(status_of "$n2")" = red ]'
check "yellow stored" '[ "$(status_of "$n3")" = yellow ]'
check "black stored" '[ "$(status_of "$n4")" = black ]'
before=$(counts)
printf '%s,green\n%s,yellow\n%s,green\n%s1,green\n%s,red\n' "$n2" "$n3" "$n4" "$n4" "$nik1" > "$tmp/bad.csv"
run 1 subject import "$tmp/bad.csv"
err_has "line 4"
err_has "NIK is not 16 digits"
printf 'nik,status\n%s,green\n%s,purple\n' "$n2" "$n3" > "$tmp/bad.csv"
run 1 subject import "$tmp/bad.csv"
err_has "line 3"
printf '%s,green,1990-01-01,extra\n' "$n2" > "$tmp/bad.csv"
run 1 subject import "$tmp/bad.csv"
err_has "line 1"
printf '%s,green,01-01-1990\n' "$n2" > "$tmp/bad.csv"
run 1 subject import "$tmp/bad.csv"
run 1 subject import "$tmp/no-such-file.csv"
err_has "cannot read"
run 2 subject import
run 2 subject import "$tmp/good.csv" "$tmp/good.csv"
unchanged "bad subject import" "$before"

"$py" - "$tmp/big.csv" << 'EOF'
import random, sys
with open(sys.argv[1], "w") as f:
    f.write("nik,status,birth_date\n")
    base = random.randrange(10**6, 9 * 10**6)
    for i in range(100000):
        f.write("52%08d%06d,%s\n" % (base, i, random.choice(["green", "yellow", "red", "black"])))
EOF
people_before=$(people_count)
start=$(date +%s.%N)
run 0 subject import "$tmp/big.csv"
end=$(date +%s.%N)
out_is "100000 subjects imported"
check "100k people stored" '[ "$(people_count)" = $((people_before + 100000)) ]'
echo "lindungctl: subject import of 100000 lines took $(echo "$end - $start" | bc) s" >&2
run 0 subject import "$tmp/big.csv"
check "re-import adds nobody" '[ "$(people_count)" = $((people_before + 100000)) ]'

# --- seed ---------------------------------------------------------------------
seed=$tmp/seedout
people_before=$(people_count)
start=$(date +%s.%N)
run 0 seed --people 2000 --out-dir "$seed"
end=$(date +%s.%N)
echo "lindungctl: seed of 2000 people took $(echo "$end - $start" | bc) s" >&2
check "seed summary" 'grep -q "seeded 11 partners (0 kept)" "$tmp/out"'
for p in gojek grab tokopedia tiketcom dana livin-mandiri traveloka cinema-xxi linkaja goers jaki; do
  d=$seed/partners/$p
  check "$p secret mode 0400" '[ "$(stat -c %a "$d/secret.key")" = 400 ]'
  check "$p key_id" '[ "$(cat "$d/key_id")" = 1 ]'
  check "$p public key in the registry" '[ "$(partner_pk "$p" 1)" = "$(cat "$d/public.hex")" ]'
  check "$p key pair matches" 'kx_matches "$(cat "$d/secret.key")" "$(cat "$d/public.hex")"'
done
categories_seeded=$(q "SELECT count(*) FROM venue_categories c WHERE (SELECT count(*) FROM venues v
  WHERE v.category = c.category AND v.venue_id LIKE 'QR-%-000_') >= 3")
check "every category has 3 venues" '[ "$categories_seeded" = 7 ]'
check "tiny venue" '[ "$(venue_capacity QR-CINEMA-TINY)" = 1 ]'
csv=$seed/seed/people.csv
check "people.csv mode 0600" '[ "$(stat -c %a "$csv")" = 600 ]'
check "people.csv has 2000 people" '[ "$(wc -l < "$csv")" = 2001 ] && [ "$(head -1 "$csv")" = nik,status,birth_date ]'
check "2000 people stored" '[ "$(people_count)" = $((people_before + 2000)) ]'
if "$py" - "$csv" << 'EOF'; then pass; else fail "people.csv is not plausible"; fi
import csv, datetime, sys
rows = list(csv.DictReader(open(sys.argv[1])))
niks = [r["nik"] for r in rows]
assert len(set(niks)) == len(niks), "duplicate NIK"
colours = {}
for r in rows:
    nik, born = r["nik"], datetime.date.fromisoformat(r["birth_date"])
    assert len(nik) == 16 and nik.isdigit(), "NIK shape"
    assert 11 <= int(nik[:2]) <= 94, "province"
    day = int(nik[6:8]); day = day - 40 if day > 40 else day
    assert (day, int(nik[8:10]), int(nik[10:12])) == (born.day, born.month, born.year % 100), "birth date"
    colours[r["status"]] = colours.get(r["status"], 0) + 1
assert set(colours) == {"green", "yellow", "red", "black"}, colours
assert colours["green"] > colours["yellow"] > colours["black"], colours
EOF
# A sample of seeded people, looked up by an independently computed hash.
while IFS=, read -r nik status _; do
  check "seeded person has status $status" '[ "$(status_of "$nik")" = "$status" ]'
done < <(sed -n '2p;500p;2001p' "$csv")

before=$(counts)
csv_sum=$(md5sum < "$csv")
keys_sum=$(cat "$seed"/partners/*/secret.key | md5sum)
run 1 seed --people 5 --out-dir "$seed"
err_has "already exists"
unchanged "seed without --reuse" "$before"
check "people.csv untouched" '[ "$(md5sum < "$csv")" = "$csv_sum" ]'
check "no temporary files left" '[ -z "$(find "$seed" -name "*.tmp")" ]'
run 2 seed --people many
run 2 seed
run 2 seed --people 5000001
unchanged "bad seed" "$before"
run 0 seed --people 10 --reuse
check "reuse keeps partners" 'grep -q "seeded 0 partners (11 kept), 0 venues, 10 people" "$tmp/out"'
check "reuse writes into LINDUNG_RUN_DIR" '[ "$(wc -l < "$LINDUNG_RUN_DIR/seed/people.csv")" = 11 ]'
check "reuse leaves partner secrets alone" '[ "$(cat "$seed"/partners/*/secret.key | md5sum)" = "$keys_sum" ]'
check "reuse added 10 people" '[ "$(people_count)" = $((people_before + 2010)) ]'

# --- the stack's own databases, read-only -------------------------------------
LINDUNG_DB_URL=$stack_db_url
unset LINDUNG_AUDIT_DB_NAME
run 0 db migrate
out_is "0 migrations applied"
run 0 system-key show
if [ -n "${LINDUNG_SYSTEM_KEY_ID:-}" ]; then out_is "$LINDUNG_SYSTEM_KEY_ID $LINDUNG_SYSTEM_PUBLIC_KEY"; fi
run 0 partner list
run 0 venue list

# --- operators of the admin API (a scratch operators file) ----------------------
ops=$tmp/operators
run 0 operator add rina.ops --token-file "$tmp/rina.token" --operators-file "$ops"
out_is "operator rina.ops added; their token is in $tmp/rina.token"
check "token file 0600" '[ "$(stat -c %a "$tmp/rina.token")" = 600 ]'
check "operators file 0600" '[ "$(stat -c %a "$ops")" = 600 ]'
# The file holds the token's SHA-256 (as sha256sum prints it), never the token.
check "operators line is name:sha256(token)" \
  '[ "$(cat "$ops")" = "rina.ops:$(tr -d "\n" < "$tmp/rina.token" | sha256sum | cut -d" " -f1)" ]'
check "no token in the operators file" '! grep -qF "$(cat "$tmp/rina.token")" "$ops"'
LINDUNG_ADMIN_OPERATORS_FILE=$ops run 0 operator add budi --token-file "$tmp/budi.token"
check "tokens differ" '[ "$(cat "$tmp/rina.token")" != "$(cat "$tmp/budi.token")" ]'
run 0 operator list --operators-file "$ops"
out_is "$(printf 'rina.ops\nbudi')"
run 0 operator list --operators-file "$ops" --json
check "operator list --json" 'jq -e "[.[].name] == [\"rina.ops\", \"budi\"]" "$tmp/out" > /dev/null'
check "operator list --json shows no token hash" '! grep -qE "[0-9a-f]{64}" "$tmp/out"'
run 1 operator add budi --token-file "$tmp/budi2.token" --operators-file "$ops"
err_has "exists"
check "no token file for a refused operator" '[ ! -e "$tmp/budi2.token" ]'
run 1 operator add carla --token-file "$tmp/rina.token" --operators-file "$ops"
err_has "cannot create the token file"
check "a refused add leaves the file as it was" '[ "$(grep -c . "$ops")" = 2 ] && ! grep -q carla "$ops"'
run 2 operator add "rina smith" --token-file "$tmp/x.token" --operators-file "$ops"
err_has "invalid name"
run 2 operator add carla --operators-file "$ops"
err_has "missing --token-file"
(unset LINDUNG_ADMIN_OPERATORS_FILE; run 2 operator list; echo "$checks $failures" > "$tmp/sub")
read -r checks failures < "$tmp/sub"
run 0 operator remove rina.ops --operators-file "$ops"
check "removed from the file" '! grep -q rina.ops "$ops" && grep -q "^budi:" "$ops"'
run 1 operator remove rina.ops --operators-file "$ops"
err_has "no such operator"
run 1 operator remove budi --operators-file "$ops"
err_has "last operator"
printf 'budi:%s\nbad line\n' "$(printf %064d 0)" > "$tmp/bad-ops"
run 1 operator list --operators-file "$tmp/bad-ops"
err_has "line 2"
cat "$tmp/rina.token" "$tmp/budi.token" >> "$tmp/secrets-extra"
# --cacert goes with the admin API; it needs a file.
run 2 partner quota gojek --rate 1 --cacert
err_has "needs a file"
run 2 --cacert= partner quota gojek --rate 1
LINDUNG_ADMIN_URL=http://192.0.2.1:8081 run 2 partner quota gojek --rate 1
err_has "loopback"

# --- one owner per database: no credential reaches both ----------------------
refused() { # what url
  if "$psql_bin" "$2" -X -q -tAc "SELECT 1" > /dev/null 2> "$tmp/psql.err"; then
    fail "$1 connected"
  elif grep -q "permission denied" "$tmp/psql.err"; then pass; else fail "$1: $(head -1 "$tmp/psql.err")"; fi
}
refused "lindung's owner on lindung_audit" "$(url lindung_admin lindung_audit)"
refused "lindung_audit's owner on lindung" "$(url lindung_audit_admin lindung)"
for role in lindung_ingest lindung_decrypt lindung_resolver lindung_revocation; do
  refused "$role on lindung_audit" "$(url "$role" lindung_audit)"
done
refused "lindung_audit on lindung" "$(url lindung_audit lindung)"
check "neither owner may create roles (PostgreSQL 15's CREATEROLE resets any password)" \
  '[ "$(super "SELECT count(*) FROM pg_roles WHERE rolname IN ('"'lindung_admin'"', '"'lindung_audit_admin'"') AND NOT rolcreaterole AND NOT rolsuper")" = 2 ]'
check "each database has its own owner" \
  '[ "$(super "SELECT string_agg(datname || '"'='"' || pg_get_userbyid(datdba), '"' '"' ORDER BY datname) FROM pg_database WHERE datname IN ('"'lindung'"', '"'lindung_audit'"')")" = "lindung=lindung_admin lindung_audit=lindung_audit_admin" ]'

# --- nothing sensitive in any output ------------------------------------------
{
  echo "$nik1"; echo "$n2"; echo "$n3"; echo "$n4"
  cut -d, -f1 "$csv" | tail -n +2
  cut -d, -f1 "$LINDUNG_RUN_DIR/seed/people.csv" | tail -n +2
  cut -d, -f1 "$tmp/big.csv" | tail -n +2
} > "$tmp/niks"
check "no NIK in any output ($(wc -l < "$tmp/niks") NIKs checked)" '! grep -qF -f "$tmp/niks" "$tmp/all"'
cat "$seed"/partners/*/secret.key "$sk_file" "$tmp/keys/sk2" "$LINDUNG_NIK_KEY_FILE" "$tmp/secrets-extra" > "$tmp/secrets"
check "no secret key in any output" '! grep -qiF -f "$tmp/secrets" "$tmp/all"'

it_done
