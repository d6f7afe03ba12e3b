# tests/integration/lib.sh: the one set-up of the integration scenarios.
# Source it first from a run.sh:
#
#   . "$(dirname "$0")/../lib.sh"
#
# It reads the running stack's settings ($LINDUNG_RUN_DIR/stack.env: URLs,
# brokers, certificates, LINDUNG_BIN_DIR...) and scripts/lib.sh (root,
# pg_bin, say, die), and defines the checks' counters: pass [TEXT] and
# fail TEXT count a check, note TEXT prints a figure, it_done prints the
# summary and is false when a check failed (end a run.sh with it).
: "${LINDUNG_RUN_DIR:?LINDUNG_RUN_DIR not set: run through ctest, or export the run dir of the stack}"
# shellcheck disable=SC1091
. "$LINDUNG_RUN_DIR/stack.env"
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib.sh"
: "${LINDUNG_SOURCE_DIR:=$root}"
: "${LINDUNG_TEST_BIN_DIR:=$build_dir/tests}"

it_name=$(basename "$(cd "$(dirname "$0")" && pwd)")
failures=0
checks=0
pass() {
  checks=$((checks + 1))
  if [ $# -gt 0 ]; then echo "ok   $*"; fi
}
fail() {
  checks=$((checks + 1))
  failures=$((failures + 1))
  echo "FAIL: $*" >&2
}
note() { echo "$it_name: $*"; }
it_done() {
  echo "$it_name: $checks checks, $failures failed" >&2
  [ "$failures" -eq 0 ]
}

# Seeds the shared test stack once (the eleven launch partners with their
# topics, ACLs and client certificates, venues and 2,000 people), then waits until the services have loaded the new partners:
# they poll the registry version every 500 ms.
lindung_ensure_seeded() {
  local lock=$LINDUNG_RUN_DIR/seed.lock
  (
    flock 9
    # The database decides, not the partner files: a run dir kept from an
    # earlier stack can hold files for a database made afresh since (stale
    # files are removed first).
    if [ ! -d "$LINDUNG_RUN_DIR/partners/gojek" ] ||
      [ -z "$("$LINDUNG_PG_BIN/psql" "$LINDUNG_DB_URL" -XtAc "SELECT 1 FROM partners WHERE partner_id = 'gojek'")" ]; then
      rm -rf "$LINDUNG_RUN_DIR/partners" "$LINDUNG_RUN_DIR/seed"
      "$LINDUNG_BIN_DIR/lindungctl" seed --people 2000 > /dev/null
      sleep 1.5
    fi
  ) 9> "$lock"
}

# Scans fill venues (occupancy, check-ins) that later scenarios of the shared
# stack scan into: lindung_venues_snapshot before scanning, and
# lindung_venues_restore after it, put them back as they were.
lindung_venues_db() { "$LINDUNG_PG_BIN/psql" "$LINDUNG_DB_URL" -X -q -v ON_ERROR_STOP=1 -tA "$@"; }
lindung_venues_snapshot() { # file
  {
    echo "BEGIN; DELETE FROM check_ins WHERE id > $(lindung_venues_db -c "SELECT coalesce(max(id), 0) FROM check_ins");"
    lindung_venues_db -c "SELECT format('UPDATE venues SET occupancy = %s WHERE venue_id = %L;', occupancy, venue_id) FROM venues"
    echo "COMMIT;"
  } > "$1"
}
lindung_venues_restore() { lindung_venues_db < "$1" > /dev/null || fail "venues not restored"; }
