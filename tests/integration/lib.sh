# Shared by the integration scenarios: source it from a run.sh.

# Seeds the shared test stack once (the eleven launch partners, venues and
# 2,000 people), then waits until the services have loaded the new partners:
# they poll the registry version every 500 ms.
lindung_ensure_seeded() {
  local lock=$LINDUNG_RUN_DIR/seed.lock
  (
    flock 9
    # The database decides, not the partner files: a run dir kept from an
    # earlier stack can hold files for a database made afresh since.
    if [ ! -d "$LINDUNG_RUN_DIR/partners/gojek" ] ||
      [ -z "$("$LINDUNG_PG_BIN/psql" "$LINDUNG_DB_URL" -XtAc "SELECT 1 FROM partners WHERE partner_id = 'gojek'")" ]; then
      "$LINDUNG_BIN_DIR/lindungctl" seed --people 2000 > /dev/null
      sleep 1.5
    fi
  ) 9> "$lock"
}
