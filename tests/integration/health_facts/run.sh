#!/usr/bin/env bash
# integration.health_facts: colours from health facts under the rule set in
# force, the way a partner sees them (lindung-partner link + scan):
#   - one person per cell of STATUS-RULES.md's July 2022 table, with the
#     boundaries (antigen 24 h, PCR 72 h, day-5 PCR clearance, day 10, age
#     17 vs 18), loaded with `lindungctl facts import` (cases.py);
#   - a positive result published on health.facts (`lindungctl facts
#     publish`): that person's next scan is DENY; a person checked in at the
#     same venue in the hour becomes a close contact (DENY), one elsewhere
#     does not; the same fact published twice is one fact;
#   - rule sets as data: a newer rule set in force changes colours at once
#     (the September 2021 table), one dated tomorrow changes nothing; a
#     region's override of a category; every change is in rule_changes and
#     in the audit trail with the operator's name;
#   - facts import: every bad line reported, nothing applied; idempotent;
#   - the September 2021 table cell by cell while its rule set is in force;
#   - PPKM levels per region (and the settings' level elsewhere) through
#     venue capacity shares;
#   - the exposure window is a setting: 30 min flags a check-in 20 min
#     apart, not one 45 min apart; 60 min flags both;
#   - retention deletes old check-ins, replay records (resolver_answers) and
#     test results, keeps doses and what is within retention, and the audit
#     trail holds counts only; no NIK in any log or fact row.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/../lib.sh"
bin=$LINDUNG_BIN_DIR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
lindung_ensure_seeded

work=$(mktemp -d)
q() { psql "$LINDUNG_DB_URL" -X -q -tA -c "$1"; }
# The test's rule sets go again (their region rows with them); its venues
# stay, as check-ins refer to them.
restore_rules() { q "DELETE FROM rule_sets WHERE rule_set_id LIKE 'it-%'" > /dev/null; }
trap 'restore_rules || true; rm -rf "$work"' EXIT

gojek=$LINDUNG_RUN_DIR/partners/gojek
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"; }

# link NAME NIK -> token on stdout
link() {
  "$bin/lindung-partner" link --nik "$2" --partner-dir "$gojek" --timeout 20 > "$work/link-$1.json" \
    2> "$work/link-$1.err" || { fail "link $1: $(head -c 200 "$work/link-$1.err")"; return 0; }
  json_get "$work/link-$1.json" token
}
# scan NAME TOKEN VENUE [--check-out] -> "STATUS DECISION REASON"
scan() {
  local name=$1 token=$2 venue=$3
  shift 3
  "$bin/lindung-partner" scan --token "$token" --venue "$venue" "$@" --partner-dir "$gojek" \
    --timeout 20 > "$work/scan.json" 2> "$work/scan.err" || true
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
print(d.get("status",""), d.get("decision",""), d.get("reason",""))' "$work/scan.json" 2> /dev/null ||
    echo "no-answer"
}
expect_scan() { # what token venue expected
  local got
  got=$(scan x "$2" "$3")
  if [ "$got" = "$4" ]; then pass; else fail "$1: got '$got', expected '$4'"; fi
}

# --- the table, cell by cell ----------------------------------------------------
"$here/cases.py" "$work/facts.csv" "$work/cases"
before=$(q "SELECT count(*) FROM health_facts")
"$bin/lindungctl" facts import "$work/facts.csv" --source it-lab > "$work/import.out" || fail "facts import failed"
lines=$(($(wc -l < "$work/facts.csv") - 1))
grep -q "^$lines facts: $lines new" "$work/import.out" && pass || fail "import: $(cat "$work/import.out")"
[ "$(q "SELECT count(*) FROM health_facts")" = $((before + lines)) ] && pass || fail "not every fact stored"
# Idempotent: the same file again adds nothing.
"$bin/lindungctl" facts import "$work/facts.csv" --source it-lab > "$work/import2.out" || fail "second import failed"
grep -q "^$lines facts: 0 new" "$work/import2.out" && pass || fail "re-import: $(cat "$work/import2.out")"

declare -A who
sept2021=()
while IFS='|' read -r name nik venue status decision reason; do
  if [[ $name == @* ]]; then
    who[${name#@}]=$nik
    continue
  fi
  if [[ $name == %* ]]; then
    sept2021+=("${name#%}|$nik|$venue|$status $decision $reason")
    continue
  fi
  token=$(link "$name" "$nik")
  [ -n "$token" ] || continue
  expect_scan "$name" "$token" "$venue" "$status $decision $reason"
  # Check out again so capacities stay as they were.
  [ "$decision" = ALLOW ] && scan x "$token" "$venue" --check-out > /dev/null
done < "$work/cases"
echo "ok   $checks checks of the July 2022 table through the scan path"

# --- a positive published on health.facts -> the next scan is DENY ----------------
# Venues of this run only: the stack (and its check-ins) may have seen
# earlier runs.
run_id=$RANDOM$RANDOM
venue=QR-IT-HF-EXPO-$run_id
other=QR-IT-HF-OTHER-$run_id
q "INSERT INTO venues (venue_id, name, category) VALUES ('$venue', 'Warung Uji', 'restaurant'),
     ('$other', 'Warung Lain', 'restaurant')" > /dev/null
nik_hash() { # nik -> hex of the keyed BLAKE2b-256, computed independently of lindungctl
  python3 -c 'import hashlib,sys; k=bytes.fromhex(open(sys.argv[1]).read().strip());
print(hashlib.blake2b(sys.argv[2].encode(), key=k, digest_size=32).hexdigest())' "$LINDUNG_NIK_KEY_FILE" "$1"
}
facts_of() { # nik kind -> how many facts of that kind are held for the person
  q "SELECT count(*) FROM health_facts WHERE nik_hash = '\\x$(nik_hash "$1")' AND fact = '$2'"
}
t_pub=$(link published "${who[published]}")
t_met=$(link met "${who[met]}")
t_else=$(link elsewhere "${who[elsewhere]}")
expect_scan "published person before" "$t_pub" "$venue" "GREEN ALLOW STATUS_ALLOWED"
expect_scan "met person checks in" "$t_met" "$venue" "GREEN ALLOW STATUS_ALLOWED"
expect_scan "elsewhere person checks in" "$t_else" "$other" "GREEN ALLOW STATUS_ALLOWED"
printf 'nik,fact,at,until,detail\n%s,positive,%s,,PCR\n' "${who[published]}" \
  "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" > "$work/positive.csv"
start=$(date +%s%N)
"$bin/lindungctl" facts publish "$work/positive.csv" --source it-lab > /dev/null || fail "facts publish failed"
verdict=""
for _ in $(seq 1 50); do
  verdict=$(scan x "$t_pub" "$venue")
  [ "$verdict" = "BLACK DENY POSITIVE_OR_CONTACT" ] && break
done
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
if [ "$verdict" = "BLACK DENY POSITIVE_OR_CONTACT" ]; then
  pass
  echo "ok   positive published -> DENY (within ${elapsed_ms} ms, partner CLI round trips included)"
else
  fail "after a published positive: $verdict"
fi
expect_scan "met at the venue: close contact" "$t_met" "$venue" "BLACK DENY POSITIVE_OR_CONTACT"
expect_scan "checked in elsewhere: not a contact" "$t_else" "$venue" "GREEN ALLOW STATUS_ALLOWED"
# Only keyed hashes: the contact fact names no venue and no person.
[ "$(q "SELECT count(*) FROM health_facts WHERE nik_hash = '\\x$(nik_hash "${who[met]}")'
        AND fact = 'close_contact' AND source = 'exposure' AND detail = ''")" = 1 ] && pass ||
  fail "no exposure fact for the person met"
[ "$(facts_of "${who[elsewhere]}" close_contact)" = 0 ] && pass || fail "a person elsewhere was flagged"
# The same positive again is one fact and flags nobody twice.
"$bin/lindungctl" facts publish "$work/positive.csv" --source it-lab > /dev/null || fail "second publish failed"
sleep 1
n=$(facts_of "${who[published]}" positive)
[ "$n" = 1 ] && pass || fail "a fact published twice is $n"
n=$(facts_of "${who[met]}" close_contact)
[ "$n" = 1 ] && pass || fail "a positive published twice flagged the contact $n times"

# --- the exposure window is a setting -------------------------------------------------
# Check-ins at one venue written at chosen times (3 h ago): P at T, A at
# T+20 min, B at T+45 min, Q at T. With exposure_window_minutes = 30, P's
# positive flags A, not B; with 60, Q's positive flags B as well.
exp_venue=QR-IT-HF-EXPW-$run_id
q "INSERT INTO venues (venue_id, name, category) VALUES ('$exp_venue', 'Pasar Uji', 'restaurant')" > /dev/null
check_in_at() { # nik minutes-after-T
  q "INSERT INTO check_ins (person_id, venue_id, partner_id, request_id, action, at, decision, reason, status)
       SELECT person_id, '$exp_venue', 'gojek', decode(md5(random()::text), 'hex'), 'check_in',
              now() - interval '3 hours' + $2 * interval '1 minute', 'allow', 'status_allowed', 'green'
         FROM people WHERE nik_hash = '\\x$(nik_hash "$1")'" > /dev/null
}
check_in_at "${who[exp-p]}" 0
check_in_at "${who[exp-q]}" 0
check_in_at "${who[exp-a]}" 20
check_in_at "${who[exp-b]}" 45
set_window() {
  q "SET lindung.actor = 'it-operator'; UPDATE settings SET value = '$1' WHERE name = 'exposure_window_minutes'" > /dev/null
}
import_positive() { # nik -> "close contacts flagged: N" line of facts import
  printf 'nik,fact,at,until,detail\n%s,positive,%s,,PCR\n' "$1" "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" > "$work/exp.csv"
  "$bin/lindungctl" facts import "$work/exp.csv" --source it-lab 2>&1 || true
}
trap 'set_window 60 || true; restore_rules || true; rm -rf "$work"' EXIT
set_window 30
out=$(import_positive "${who[exp-p]}")
[[ $out == *"close contacts flagged: 2" ]] && pass || fail "window 30, P's positive: $out (Q and A expected)"
[ "$(facts_of "${who[exp-a]}" close_contact)" = 1 ] && pass || fail "A (20 min) not flagged at a 30 min window"
[ "$(facts_of "${who[exp-b]}" close_contact)" = 0 ] && pass || fail "B (45 min) flagged at a 30 min window"
set_window 60
out=$(import_positive "${who[exp-q]}")
[[ $out == *"close contacts flagged: 3" ]] && pass || fail "window 60, Q's positive: $out (P, A and B expected)"
[ "$(facts_of "${who[exp-b]}" close_contact)" = 1 ] && pass || fail "B (45 min) not flagged at a 60 min window"
t_exp_b=$(link exp-b "${who[exp-b]}")
expect_scan "flagged by the 60 min window: next scan DENY" "$t_exp_b" "$other" "BLACK DENY POSITIVE_OR_CONTACT"
[ "$(q "SELECT count(*) FROM rule_changes WHERE table_name = 'settings' AND actor = 'it-operator'
        AND new_row->>'name' = 'exposure_window_minutes'")" -ge 2 ] && pass || fail "window change not in rule_changes"

# --- rule sets as data ---------------------------------------------------------------
t_yellow=$(link yellow "${who[yellow]}")
expect_scan "two doses under July 2022: YELLOW" "$t_yellow" QR-CINEMA-0001 "YELLOW DENY STATUS_NOT_ALLOWED_HERE"
export LINDUNG_ADMIN_ACTOR=it-operator
ctl_ok() { "$bin/lindungctl" "$@" > "$work/ctl.out" 2> "$work/ctl.err" && pass || fail "lindungctl $*: $(cat "$work/ctl.err")"; }
ctl_usage() { # a usage error: exit 2, one line
  local status=0
  "$bin/lindungctl" "$@" > /dev/null 2> "$work/ctl.err" || status=$?
  [ "$status" = 2 ] && [ "$(wc -l < "$work/ctl.err")" = 1 ] && pass || fail "lindungctl $*: exit $status"
}
ctl_ok rules add it-tomorrow --from "$(date -u -d tomorrow +%Y-%m-%dT%H:%M:%SZ)" --scheme sept2021
expect_scan "a rule set dated tomorrow is not in force" "$t_yellow" QR-CINEMA-0001 "YELLOW DENY STATUS_NOT_ALLOWED_HERE"
ctl_ok rules add it-now --from "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" --scheme sept2021 --source "integration test"
ctl_ok rules list
grep -q "^it-now	.*	sept2021	in-force	" "$work/ctl.out" && pass || fail "rules list: $(cat "$work/ctl.out")"
grep -q "^it-tomorrow	.*	future	" "$work/ctl.out" && pass || fail "rules list shows no future set"
expect_scan "September 2021 in force: two doses GREEN" "$t_yellow" QR-CINEMA-0001 "GREEN ALLOW STATUS_ALLOWED"
scan x "$t_yellow" QR-CINEMA-0001 --check-out > /dev/null
# The September 2021 table, cell by cell, while its rule set is in force.
for row in "${sept2021[@]}"; do
  IFS='|' read -r name nik venue want <<< "$row"
  token=$(link "$name" "$nik")
  [ -n "$token" ] || continue
  expect_scan "$name" "$token" "$venue" "$want"
  [[ $want == *" ALLOW "* ]] && scan x "$token" "$venue" --check-out > /dev/null
done
echo "ok   ${#sept2021[@]} cells of the September 2021 table through the scan path"
q "DELETE FROM rule_sets WHERE rule_set_id = 'it-now'" > /dev/null
# A region where malls admit GREEN only.
q "INSERT INTO venues (venue_id, name, category, region) VALUES ('QR-IT-HF-MALL64-$run_id', 'Mal Uji Samarinda', 'mall', '64.72')" > /dev/null
ctl_ok rules add it-region --from "$(date -u -d '1 second ago' +%Y-%m-%dT%H:%M:%SZ)" --scheme jul2022
ctl_ok rules region it-region 64 --category mall --admits green --ppkm 3
expect_scan "region override: YELLOW not at this mall" "$t_yellow" "QR-IT-HF-MALL64-$run_id" "YELLOW DENY STATUS_NOT_ALLOWED_HERE"
expect_scan "no override elsewhere: YELLOW at a mall" "$t_yellow" QR-MALL-0002 "YELLOW ALLOW STATUS_ALLOWED"
scan x "$t_yellow" QR-MALL-0002 --check-out > /dev/null
# PPKM levels per region: an office admits 50% / 25% / none of its capacity
# at level 2 / 3 / 4. Level 4 in province 64 closes an office there (GREEN
# or not); level 3 in regency 65.01 leaves one seat of 4; an office in
# province 66, without a region rule, follows settings.ppkm_level (2: two
# seats of 4).
q "INSERT INTO venues (venue_id, name, category, region, capacity) VALUES
     ('QR-IT-HF-OFF64-$run_id', 'Kantor Uji 64', 'office', '64.72', 4),
     ('QR-IT-HF-OFF65-$run_id', 'Kantor Uji 65', 'office', '65.01', 4),
     ('QR-IT-HF-OFF66-$run_id', 'Kantor Uji 66', 'office', '66.01', 4)" > /dev/null
ctl_ok rules region it-region 64 --ppkm 4
ctl_ok rules region it-region 65.01 --ppkm 3
t_green=$t_else
t_pub_green=$(link green2 "${who[green2]}")
expect_scan "PPKM 4: an office is closed" "$t_green" "QR-IT-HF-OFF64-$run_id" "GREEN DENY VENUE_FULL"
expect_scan "PPKM 3: one seat of 4" "$t_green" "QR-IT-HF-OFF65-$run_id" "GREEN ALLOW STATUS_ALLOWED"
expect_scan "PPKM 3: the seat is taken" "$t_pub_green" "QR-IT-HF-OFF65-$run_id" "GREEN DENY VENUE_FULL"
expect_scan "settings' PPKM 2: two seats of 4" "$t_pub_green" "QR-IT-HF-OFF66-$run_id" "GREEN ALLOW STATUS_ALLOWED"
scan x "$t_green" "QR-IT-HF-OFF65-$run_id" --check-out > /dev/null
scan x "$t_pub_green" "QR-IT-HF-OFF66-$run_id" --check-out > /dev/null
ctl_usage rules add it-bad --from yesterday --scheme jul2022
ctl_usage rules add it-bad --from 2030-01-01 --scheme 2030
ctl_usage rules add it-bad --from 2030-01-01 --scheme jul2022 --contact-clear-day 3
ctl_usage rules region it-region 6 --ppkm 3
ctl_usage rules region it-region 64 --ppkm 5
ctl_usage rules region it-region 64 --category mall
restore_rules
changes=$(q "SELECT count(*) FROM rule_changes WHERE new_row->>'rule_set_id' LIKE 'it-%' OR old_row->>'rule_set_id' LIKE 'it-%'")
# 3 rule sets and 2 region rows added, all deleted again: 10 changes.
[ "$changes" -ge 10 ] && pass || fail "rule changes not recorded ($changes)"
[ "$(q "SELECT count(*) FROM rule_changes WHERE actor = 'it-operator' AND table_name = 'rule_sets'")" -ge 3 ] &&
  pass || fail "rule changes do not name the operator"
[ "$(q "SELECT count(*) FROM rule_sets WHERE rule_set_id LIKE 'it-%'")" = 0 ] && pass || fail "test rule sets left"

# --- facts import: bad lines --------------------------------------------------------------
before=$(q "SELECT count(*) FROM health_facts")
printf 'nik,fact,at,until,detail\n%s,dose,2022-01-01,,\n123,dose,2022-01-01,,\n%s,vaccinated,2022-01-01,,\n%s,dose,2022-01-01T10:00,,\n' \
  "${who[yellow]}" "${who[yellow]}" "${who[yellow]}" > "$work/bad.csv"
status=0
"$bin/lindungctl" facts import "$work/bad.csv" > /dev/null 2> "$work/bad.err" || status=$?
[ "$status" = 1 ] && pass || fail "bad import exit status $status"
for n in 3 4 5; do grep -q "line $n:" "$work/bad.err" && pass || fail "line $n not reported: $(cat "$work/bad.err")"; done
grep -q "3 bad lines, nothing applied" "$work/bad.err" && pass || fail "no summary: $(cat "$work/bad.err")"
grep -qF "${who[yellow]}" "$work/bad.err" && fail "a NIK in the error report" || pass
[ "$(q "SELECT count(*) FROM health_facts")" = "$before" ] && pass || fail "a bad import applied facts"

# --- retention ----------------------------------------------------------------------------
pid=$(q "SELECT person_id FROM people LIMIT 1")
old_hash=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
q "INSERT INTO check_ins (person_id, venue_id, partner_id, request_id, action, at, decision, reason, status)
     VALUES ($pid, 'QR-MALL-0001', 'gojek', decode(md5(random()::text), 'hex'), 'check_in', now() - interval '15 days', 'allow', 'status_allowed', 'green');
   INSERT INTO health_facts (fact_id, nik_hash, fact, at, source) VALUES
     (decode(md5(random()::text), 'hex'), decode('$old_hash', 'hex'), 'antigen_negative', now() - interval '100 days', 'it-lab'),
     (decode(md5(random()::text), 'hex'), decode('$old_hash', 'hex'), 'dose', now() - interval '400 days', 'it-lab');
   INSERT INTO resolver_answers (partner_id, request_id, digest, error_code, answered_at) VALUES
     ('gojek', decode('$old_hash', 'hex'), decode(md5(random()::text), 'hex'), 0, now() - interval '15 days'),
     ('gojek', decode(md5('$old_hash'), 'hex'), decode(md5(random()::text), 'hex'), 0, now() - interval '13 days')" > /dev/null
counts=$(q "SELECT o_check_ins || ' ' || o_replay_records || ' ' || o_health_facts FROM lindung_retention(now())")
read -r c r f <<< "$counts"
[ "$c" -ge 1 ] && [ "$r" -ge 1 ] && [ "$f" -ge 1 ] && pass || fail "retention deleted '$counts'"
[ "$(q "SELECT count(*) FROM resolver_answers WHERE answered_at < now() - interval '14 days'")" = 0 ] &&
  pass || fail "old replay records kept"
[ "$(q "SELECT count(*) FROM resolver_answers WHERE request_id = decode(md5('$old_hash'), 'hex')")" = 1 ] &&
  pass || fail "a replay record within retention was deleted"
[ "$(q "SELECT count(*) FROM health_facts WHERE nik_hash = decode('$old_hash', 'hex')")" = 1 ] &&
  pass || fail "retention must keep doses"
[ "$(q "SELECT count(*) FROM check_ins WHERE at < now() - interval '14 days'")" = 0 ] && pass || fail "old check-ins kept"
if [ -n "${LINDUNG_AUDIT_ADMIN_DB_URL:-}" ]; then
  # The resolver's own run (5 s after it started) is in the audit trail, as counts.
  n=$(psql "$LINDUNG_AUDIT_ADMIN_DB_URL" -X -q -tA -c "SELECT count(*) FROM audit_records WHERE detail SIMILAR TO 'retention check_ins=[0-9]+ replay_records=[0-9]+ health_facts=[0-9]+'")
  [ "$n" -ge 1 ] && pass || fail "no retention record in the audit trail"
  n=$(psql "$LINDUNG_AUDIT_ADMIN_DB_URL" -X -q -tA -c "SELECT count(*) FROM audit_records WHERE detail LIKE 'health_fact positive new contacts=1'")
  [ "$n" -ge 1 ] && pass || fail "no audit record of the published positive"
  # Rule changes reach the audit trail, naming who made them: the rule set
  # it-now added (by the operator) and deleted (by the test's SQL session),
  # a region's PPKM level, the exposure window.
  want="(actor = 'it-operator' AND (detail LIKE 'rule_change rule_sets insert %\"it-now\"%'
          OR detail LIKE 'rule_change rule_set_regions update %\"ppkm_level\": 4%'
          OR detail LIKE 'rule_change settings update %\"exposure_window_minutes\"%'))
        OR (actor = 'lindung_admin' AND detail LIKE 'rule_change rule_sets delete %\"it-now\"%')"
  n=0
  for _ in $(seq 1 60); do
    n=$(psql "$LINDUNG_AUDIT_ADMIN_DB_URL" -X -q -tA -c "SELECT count(DISTINCT substring(detail FOR 30))
          FROM audit_records WHERE service = 'status-resolver' AND ($want)")
    [ "$n" -ge 4 ] && break
    sleep 0.5
  done
  [ "$n" -ge 4 ] && pass || fail "rule changes in the audit trail: $n of 4 kinds"
fi

# --- privacy ----------------------------------------------------------------------------------
cut -d'|' -f2 "$work/cases" > "$work/niks"
if grep -F -q -f "$work/niks" "$LINDUNG_RUN_DIR"/logs/*.log; then fail "a NIK in a service log"; else pass; fi
if q "SELECT detail FROM health_facts" | grep -F -q -f "$work/niks"; then fail "a NIK in health_facts"; else pass; fi

it_done
